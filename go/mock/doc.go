// Package mock switches functions per test in a Go test binary that
// hookpatch rewrote: the runtime patchers' API (gomonkey, bouk/monkey),
// with no code written at run time (no mprotect, W^X-safe, macOS arm64).
//
// hookpatch makes each function named by an action = "switch" rule call
// through a slot; this package sets the slots. In the package's
// hookpatch.toml:
//
//	[[hook]]
//	target = "time.Now"
//	action = "switch"
//
//	[[hook]]
//	target = "example.com/app.(*Meter).Tick"
//	action = "switch"
//
// and run the tests under hookpatch (without -gcflags=all=-l, calls the
// compiler inlined do not switch):
//
//	go test -gcflags=all=-l -exec "hookpatch exec --" ./...
//
// From gomonkey to this package:
//
//	gomonkey                                        hookpatch.dev/mock
//	p := gomonkey.ApplyFunc(time.Now, fake)         mock.Patch(t, time.Now, fake)
//	defer p.Reset()                                 (t.Cleanup resets it)
//	gomonkey.ApplyMethod(reflect.TypeOf(m), "Tick",  mock.Patch(t, (*Meter).Tick,
//	    func(_ *Meter) int { return 42 })               func(*Meter) int { return 42 })
//	gomonkey.ApplyFuncReturn(Add, 7)                mock.Patch(t, Add, func(a, b int) int { return 7 })
//	p.Origin / calling inside a patch: unsafe       real := mock.Original(time.Now)
//	(no per-goroutine patches)                      mock.PatchGoroutine(t, Add, fn)
//
// A mismatched signature is a compile error: target and fn have one type
// F. Closures work, with what they capture. Methods are switched through
// their method expression, (*T).M or T.M; a method value (x.M) is bound
// to one receiver and is refused. For a value-receiver method, (*T).M is
// the compiler's wrapper, not the method: use T.M.
//
// Patch affects every goroutine until the test ends; a second Patch of
// the same target in the same test replaces the first, and the cleanup
// puts back what was there before. Two tests running in parallel that
// Patch the same target would see each other's mocks: the second fails
// and says to use PatchGoroutine, whose mock only the calling goroutine
// sees.
//
// Errors fail the test: a target with no switch rule says which rule to
// add; a binary hookpatch did not patch says to run under hookpatch exec.
//
// # Cost per call
//
// A call of a switchable target whose slot is empty costs a load and a
// branch more than a direct call; with Patch, the mock is reached the
// same way, through its func value. While a PatchGoroutine is in force,
// every call of the target, from any goroutine, also looks the goroutine
// up among those that have one (a short assembly loop, no reflect).
// Measured on x86-64 (tests/e2e/go_switch/gor/bench_test.go): a direct
// call about 4 ns, empty slot about 6 ns, Patch about 6 ns, PatchGoroutine
// about 11 ns.
//
// # Using the package
//
// The module is hookpatch.dev, at go/ in hookpatch's source tree. Either
// point at it with a replace directive:
//
//	require hookpatch.dev v0.0.0
//	replace hookpatch.dev => /path/to/hookpatch/go
//
// or vendor it: with that replace directive, go mod vendor copies the
// package into vendor/hookpatch.dev/mock (keeping its import path, which
// is how hookpatch finds it).
//
// # How it finds the slots
//
// Test binaries have no symbol table. hookpatch finds two functions of
// this package by name in the Go pclntab and rewrites their entries:
// hookpatchSwitchTable returns the address of the switch table (one entry
// per switchable function: its entry address, its trampoline, its slot),
// hookpatchCurG the current goroutine's g. Patch finds the target's entry
// address in its func value, looks it up in the table and stores a func
// value in its slot with an atomic store.
package mock
