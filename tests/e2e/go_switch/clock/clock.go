// Package clock is what the tests switch: time.Now (through Stamp), a
// package function and a pointer-receiver method.
package clock

import "time"

type Meter struct{ n int }

// Tick counts the calls on this meter.
func (m *Meter) Tick() int { m.n++; return m.n }

func (m *Meter) Count() int { return m.n }

func Add(a, b int) int { return a + b }

// Sum is variadic: its switch passes the slice through.
func Sum(xs ...int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// Stamp is the current time, to the second, in UTC.
func Stamp() string { return time.Now().UTC().Format(time.RFC3339) }
