package gor

// The cost of a call through a switch, next to a direct call:
//
//	go test -gcflags=all=-l -run '^$' -bench . -exec "hookpatch exec --" ./gor
//
// -gcflags=all=-l keeps every call a call.

import (
	"testing"

	"hookpatch.dev/mock"
)

// Plain is Add without a switch rule.
func Plain(a, b int) int { return a + b }

var sink int

func BenchmarkDirect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink += Plain(i, 1)
	}
}

func BenchmarkSwitchEmpty(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink += Add(i, 1)
	}
}

func BenchmarkSwitchPatch(b *testing.B) {
	mock.Patch(b, Add, func(a, b int) int { return a + b })
	for i := 0; i < b.N; i++ {
		sink += Add(i, 1)
	}
}

func BenchmarkSwitchPatchGoroutine(b *testing.B) {
	mock.PatchGoroutine(b, Add, func(a, b int) int { return a + b })
	for i := 0; i < b.N; i++ {
		sink += Add(i, 1)
	}
}

// Another goroutine's call while a PatchGoroutine is in force: the
// dispatcher finds no mock for it and calls the original.
func BenchmarkSwitchPatchGoroutineOther(b *testing.B) {
	mock.PatchGoroutine(b, Add, func(a, b int) int { return a + b })
	done := make(chan struct{})
	go func() {
		for i := 0; i < b.N; i++ {
			sink += Add(i, 1)
		}
		close(done)
	}()
	<-done
}
