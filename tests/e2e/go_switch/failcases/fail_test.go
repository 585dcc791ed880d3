//go:build failcases

package failcases

import (
	"testing"

	"hookpatch.dev/mock"
)

func TestNotSwitchable(t *testing.T) {
	mock.Patch(t, Unlisted, func(x int) int { return 0 })
	t.Log("not reached")
}

// a patches Listed and holds it while b, running in parallel, tries.
func TestRace(t *testing.T) {
	aHas, bTried := make(chan struct{}), make(chan struct{})
	t.Run("a", func(t *testing.T) {
		t.Parallel()
		mock.Patch(t, Listed, func(x int) int { return 1 })
		close(aHas)
		<-bTried
	})
	t.Run("b", func(t *testing.T) {
		t.Parallel()
		<-aHas
		defer close(bTried)
		mock.Patch(t, Listed, func(x int) int { return 2 })
		t.Log("not reached")
	})
}

// The same, per goroutine: no race.
func TestNoRace(t *testing.T) {
	aHas, bDone := make(chan struct{}), make(chan struct{})
	t.Run("a", func(t *testing.T) {
		t.Parallel()
		mock.PatchGoroutine(t, Listed, func(x int) int { return 1 })
		close(aHas)
		<-bDone
		if Listed(0) != 1 {
			t.Error("a: Listed(0) != 1")
		}
	})
	t.Run("b", func(t *testing.T) {
		t.Parallel()
		<-aHas
		defer close(bDone)
		mock.PatchGoroutine(t, Listed, func(x int) int { return 2 })
		if Listed(0) != 2 {
			t.Error("b: Listed(0) != 2")
		}
	})
}
