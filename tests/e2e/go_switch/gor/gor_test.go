package gor

// Run with -race -count=20 through hookpatch exec: parallel subtests mock
// Add in different ways at once, each sees its own mock, and goroutines
// they start see what was there before.

import (
	"runtime"
	"sync/atomic"
	"testing"

	"hookpatch.dev/mock"
)

const rounds = 200

func expect(t *testing.T, what string, want int, f func() int) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		if got := f(); got != want {
			t.Fatalf("%s = %d, want %d (round %d)", what, got, want, i)
		}
		if i%50 == 0 {
			runtime.Gosched()
		}
	}
}

func TestPerGoroutine(t *testing.T) {
	t.Run("mul", func(t *testing.T) {
		t.Parallel()
		mock.PatchGoroutine(t, Add, func(a, b int) int { return a * b })
		expect(t, "Add(3, 4)", 12, func() int { return Add(3, 4) })
		expect(t, "Add(3, 4) in another goroutine", 7, func() int { return AddIn(3, 4) })
	})
	t.Run("sub", func(t *testing.T) {
		t.Parallel()
		mock.PatchGoroutine(t, Add, func(a, b int) int { return a - b })
		expect(t, "Add(3, 4)", -1, func() int { return Add(3, 4) })
		expect(t, "Add(3, 4) in another goroutine", 7, func() int { return AddIn(3, 4) })
	})
	t.Run("closure", func(t *testing.T) {
		t.Parallel()
		var calls int64
		mock.PatchGoroutine(t, Add, func(a, b int) int { return int(atomic.AddInt64(&calls, 1)) })
		for i := 1; i <= rounds; i++ {
			if got := Add(3, 4); got != i {
				t.Fatalf("call %d: Add = %d", i, got)
			}
		}
		// A second PatchGoroutine in the same test replaces the first.
		mock.PatchGoroutine(t, Add, func(a, b int) int { return 1000 })
		expect(t, "Add(3, 4) replaced", 1000, func() int { return Add(3, 4) })
		if calls != rounds {
			t.Errorf("the first mock ran %d times, want %d", calls, rounds)
		}
	})
	t.Run("original", func(t *testing.T) {
		t.Parallel()
		add := mock.Original(Add)
		mock.PatchGoroutine(t, Add, func(a, b int) int { return add(a, b) + 1 })
		expect(t, "Add(3, 4)", 8, func() int { return Add(3, 4) })
	})
	t.Run("real", func(t *testing.T) {
		t.Parallel()
		expect(t, "Add(3, 4) with no mock", 7, func() int { return Add(3, 4) })
	})
}

// A Patch (every goroutine) under a PatchGoroutine: other goroutines see
// the Patch, this one its own mock; then both cleanups.
func TestOverPatch(t *testing.T) {
	t.Run("both", func(t *testing.T) {
		mock.Patch(t, Add, func(a, b int) int { return a + b + 100 })
		mock.PatchGoroutine(t, Add, func(a, b int) int { return a * b })
		expect(t, "Add(3, 4)", 12, func() int { return Add(3, 4) })
		expect(t, "Add(3, 4) in another goroutine", 107, func() int { return AddIn(3, 4) })
	})
	expect(t, "Add(3, 4) after the cleanups", 7, func() int { return Add(3, 4) })
	expect(t, "Add(3, 4) in another goroutine after", 7, func() int { return AddIn(3, 4) })
}
