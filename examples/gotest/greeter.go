// Package greeter is the example of testing Go code with hookpatch: its
// output depends on the clock, which the tests replace.
package greeter

import (
	"fmt"
	"time"
)

// Greeting says hello in a way that depends on the time of day.
func Greeting(name string) string {
	part := "evening"
	switch h := time.Now().Hour(); {
	case h < 12:
		part = "morning"
	case h < 18:
		part = "afternoon"
	}
	return fmt.Sprintf("Good %s, %s!", part, name)
}

// Counter counts calls; its method is hooked by pointer receiver in the tests.
type Counter struct{ n int }

// Next returns the next number.
func (c *Counter) Next() int {
	c.n++
	return c.n
}
