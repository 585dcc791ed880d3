package mock

// The PatchGoroutine dispatcher. While a target has a PatchGoroutine, its
// slot holds a dispatch closure: dispatchCode (assembly, dispatch_*.s)
// with a pointer to a state of words
//
//	[fallback, 0, g1, fv1, g2, fv2, ..., 0, 0]
//
// It looks the calling goroutine's g (R14 on amd64, R28 on arm64) up in
// the pairs and jumps to that func value, else to fallback (the Patch'ed
// func value, or the original), with the closure register set as for any
// Go closure call. It uses only the registers free at a Go function's
// entry, so every argument arrives untouched, whatever F is; no reflect
// and no Go code runs between the target's call and the mock.
//
// The state is published with an atomic store and never changed after;
// the assembly's loads depend on the pointer it read (ordered on arm64
// too). Assembly is not instrumented by the race detector, which could
// not see the publication anyway: the slot that leads to it is not Go
// memory.

import (
	"sync/atomic"
	"unsafe"
)

// dispatchClosure is the func value the slot holds (its address): the
// code word first, as in every Go closure, then the current state.
type dispatchClosure struct {
	code  uintptr
	state unsafe.Pointer // *[...]uintptr, replaced atomically
}

// newDispatchClosure makes a target's dispatcher; nil when this
// architecture has none.
func newDispatchClosure() *dispatchClosure {
	pc := dispatchCode()
	if pc == 0 {
		return nil
	}
	return &dispatchClosure{code: pc}
}

// publish installs a new state: fallback for goroutines with no mock,
// and each goroutine's func value.
func (d *dispatchClosure) publish(fallback uintptr, byG map[uintptr]uintptr) {
	words := make([]uintptr, 0, 2+2*len(byG)+2)
	words = append(words, fallback, 0)
	for g, fv := range byG {
		words = append(words, g, fv)
	}
	words = append(words, 0, 0)
	keep = append(keep, words)
	atomic.StorePointer(&d.state, unsafe.Pointer(&words[0]))
}
