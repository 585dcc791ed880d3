package clock

// Run twice (-count=2) in one binary: each test starts from the real
// functions, so each one checks that the previous test's cleanup put them
// back, and the second round that the first left nothing behind.

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"hookpatch.dev/mock"
)

var fixed = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func real(t *testing.T) {
	t.Helper()
	if got := Add(3, 4); got != 7 {
		t.Fatalf("Add(3, 4) = %d, want the real 7", got)
	}
	if s := Stamp(); strings.HasPrefix(s, "2001-") {
		t.Fatalf("Stamp() = %s, want the real time", s)
	}
	m := &Meter{}
	if m.Tick() != 1 || m.Tick() != 2 {
		t.Fatalf("Tick: not the real method")
	}
}

func TestNow(t *testing.T) {
	real(t)
	mock.Patch(t, time.Now, func() time.Time { return fixed })
	if got := Stamp(); got != "2001-02-03T04:05:06Z" {
		t.Errorf("Stamp() = %s under the mock", got)
	}
	// A closure capturing its state: the clock advances one hour a call.
	next := fixed
	mock.Patch(t, time.Now, func() time.Time { next = next.Add(time.Hour); return next })
	got := []string{Stamp(), Stamp()}
	if got[0] != "2001-02-03T05:05:06Z" || got[1] != "2001-02-03T06:05:06Z" {
		t.Errorf("Stamp() with the closure = %v", got)
	}
	if y := mock.Original(time.Now)().Year(); y < 2024 {
		t.Errorf("Original(time.Now)().Year() = %d", y)
	}
}

func TestNowReal(t *testing.T) { real(t) }

func TestAdd(t *testing.T) {
	real(t)
	mock.Patch(t, Add, func(a, b int) int { return a * b })
	if got := Add(3, 4); got != 12 {
		t.Errorf("Add(3, 4) = %d under a*b", got)
	}
	// Through a func value, and from other goroutines: the same switch.
	f := Add
	done := make(chan int)
	go func() { done <- f(5, 6) }()
	if got := <-done; got != 30 {
		t.Errorf("f(5, 6) in a goroutine = %d under a*b", got)
	}
	calls := 0
	mock.Patch(t, Add, func(a, b int) int { calls++; return a - b + 100*calls })
	if got := []int{Add(3, 4), Add(3, 4)}; got[0] != 99 || got[1] != 199 || calls != 2 {
		t.Errorf("Add with the closure = %v, calls %d", got, calls)
	}
	if got := mock.Original(Add)(3, 4); got != 7 {
		t.Errorf("Original(Add)(3, 4) = %d", got)
	}
	// The target as its own mock means the original (no endless jump).
	mock.Patch(t, Add, Add)
	if got := Add(3, 4); got != 7 {
		t.Errorf("Patch(Add, Add): Add(3, 4) = %d", got)
	}
}

func TestCleanupRestores(t *testing.T) {
	real(t)
	mock.Patch(t, Add, func(a, b int) int { return -1 })
	t.Run("inner", func(t *testing.T) {
		mock.Patch(t, Add, func(a, b int) int { return -2 })
		if got := Add(1, 1); got != -2 {
			t.Errorf("subtest's mock: Add = %d", got)
		}
	})
	if got := Add(1, 1); got != -1 {
		t.Errorf("after the subtest: Add = %d, want the parent's -1", got)
	}
}

func TestMethod(t *testing.T) {
	real(t)
	m := &Meter{}
	mock.Patch(t, (*Meter).Tick, func(*Meter) int { return 42 })
	if got := m.Tick(); got != 42 || m.Count() != 0 {
		t.Errorf("m.Tick() = %d, count %d under the mock", got, m.Count())
	}
	// The original runs on the receiver it is given.
	tick := mock.Original((*Meter).Tick)
	mock.Patch(t, (*Meter).Tick, func(m *Meter) int { return 10 * tick(m) })
	if got := []int{m.Tick(), m.Tick()}; got[0] != 10 || got[1] != 20 || m.Count() != 2 {
		t.Errorf("m.Tick() through Original = %v, count %d", got, m.Count())
	}
	// An interface call reaches the method too.
	var ticker interface{ Tick() int } = m
	if got := ticker.Tick(); got != 30 {
		t.Errorf("interface call = %d", got)
	}
}

func TestVariadic(t *testing.T) {
	mock.Patch(t, Sum, func(xs ...int) int { return len(xs) })
	if got := Sum(5, 6, 7); got != 3 {
		t.Errorf("Sum(5, 6, 7) = %d under len", got)
	}
	// The goroutine dispatcher passes the slice through as well.
	mock.PatchGoroutine(t, Sum, func(xs ...int) int { return -len(xs) })
	if got := Sum(5, 6, 7, 8); got != -4 {
		t.Errorf("Sum(5, 6, 7, 8) = %d under -len", got)
	}
}

// The mocks' closures survive collections: the slots are not Go memory.
func TestGC(t *testing.T) {
	for i := 0; i < 50; i++ {
		k := i
		mock.Patch(t, Add, func(a, b int) int { return a + b + k })
		runtime.GC()
		if got := Add(1, 1); got != 2+k {
			t.Fatalf("round %d: Add = %d", i, got)
		}
	}
}

func TestAllReal(t *testing.T) { real(t) }
