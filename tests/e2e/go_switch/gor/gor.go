// Package gor is mocked per goroutine by parallel tests.
package gor

func Add(a, b int) int { return a + b }

// AddIn calls Add from a new goroutine, which sees no PatchGoroutine.
func AddIn(a, b int) int {
	c := make(chan int)
	go func() { c <- Add(a, b) }()
	return <-c
}
