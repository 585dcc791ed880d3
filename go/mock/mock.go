package mock

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// target is the run-time state of one switchable function, guarded by
// mu. A call never takes the lock: it reads the slot, and the dispatcher
// its own published state (dispatch.go).
type target struct {
	name  string
	entry tableEntry

	global []*patch             // Patch, oldest first; the last one is live
	perG   map[uintptr][]*patch // PatchGoroutine, by g, oldest first

	original reflect.Value    // a func value whose code is the trampoline
	disp     *dispatchClosure // installed while perG is not empty
}

// patch is one installed function: fv is its func value (what a slot or
// the dispatcher jumps through).
type patch struct {
	owner testing.TB
	fv    uintptr
}

var (
	mu      sync.Mutex
	targets = map[uintptr]*target{}
	// The slots are outside Go memory, so the GC does not see the func
	// values they hold. A call may have loaded one a moment before a
	// reset and still be on its way to it: every func value ever
	// installed stays reachable from here, for the life of the process.
	keep []interface{}
)

// Patch makes every call of target, from every goroutine, run fn instead,
// until the end of the test (t.Cleanup puts back what was there before).
// A second Patch of the same target in the same test replaces the first.
//
// target must be a function hookpatch made switchable (a rule with
// action = "switch"); the test fails with the rule to add when it is not,
// and with how to run the tests when the binary was not patched.
//
// Patch changes what every goroutine sees, so two tests running in
// parallel (t.Parallel) must not Patch the same target: the second one
// fails. A subtest may Patch what its parent patched. Parallel tests use
// PatchGoroutine.
func Patch[F any](t testing.TB, target F, fn F) {
	t.Helper()
	tg, err := lookup("Patch", target)
	if err != nil {
		t.Fatal(err)
	}
	p := tg.newPatch(t, fn)
	mu.Lock()
	if n := len(tg.global); n > 0 && !related(tg.global[n-1].owner, t) {
		other := tg.global[n-1].owner.Name()
		mu.Unlock()
		t.Fatalf("mock.Patch(%s): %s has patched it and is still running: tests that run in parallel "+
			"must not Patch the same function (every goroutine sees a Patch); use mock.PatchGoroutine",
			tg.name, other)
	}
	tg.global = append(tg.global, p)
	tg.update()
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		tg.global = without(tg.global, p)
		tg.update()
	})
}

// PatchGoroutine makes the calls of target from the calling goroutine run
// fn instead, until the end of the test. Other goroutines, including the
// ones this goroutine starts and its subtests (each runs in a goroutine of
// its own), see what they saw before: a Patch'ed function or the
// original. Tests that run in parallel use it to mock the same function
// in different ways.
//
// Goroutines are told apart by their runtime g, which the runtime reuses
// after a goroutine exits: call PatchGoroutine from the test's own
// goroutine (its cleanup runs there), not from one that ends first.
//
// While a target has a PatchGoroutine, each of its calls, from any
// goroutine, first looks the goroutine up among those that have one (a
// few nanoseconds: see the package documentation).
func PatchGoroutine[F any](t testing.TB, target F, fn F) {
	t.Helper()
	tg, err := lookup("PatchGoroutine", target)
	if err != nil {
		t.Fatal(err)
	}
	if dispatchCode() == 0 {
		t.Fatalf("mock.PatchGoroutine(%s): not available on %s (hookpatch rewrites amd64 and arm64)",
			tg.name, runtime.GOARCH)
	}
	g := hookpatchCurG()
	if g == 0 {
		t.Fatalf("mock.PatchGoroutine(%s): hookpatch did not patch %s "+
			"(is this hookpatch older than hookpatch.dev/mock?)", tg.name, "hookpatch.dev/mock.hookpatchCurG")
	}
	p := tg.newPatch(t, fn)
	mu.Lock()
	if tg.disp == nil {
		tg.disp = newDispatchClosure()
		keep = append(keep, tg.disp)
	}
	tg.perG[g] = append(tg.perG[g], p)
	tg.update()
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if rest := without(tg.perG[g], p); len(rest) > 0 {
			tg.perG[g] = rest
		} else {
			delete(tg.perG, g)
		}
		tg.update()
	})
}

// Original returns target's original code, callable whatever target is
// switched to. It panics when target is not switchable or the binary was
// not patched (with the same messages as Patch).
func Original[F any](target F) F {
	tg, err := lookup("Original", target)
	if err != nil {
		panic(err)
	}
	return tg.original.Interface().(F)
}

// lookup finds target's state, creating it on first use.
func lookup(api string, fn interface{}) (*target, error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func {
		return nil, fmt.Errorf("mock.%s: the target is a %v, not a function", api, v.Kind())
	}
	if v.IsNil() {
		return nil, fmt.Errorf("mock.%s: the target is a nil function", api)
	}
	pc := codeOf(v)
	name := funcName(pc)
	if err := methodWrapper(api, name, v.Type()); err != nil {
		return nil, err
	}
	tbl, err := loadTable()
	if err == errNotPatched {
		return nil, fmt.Errorf("mock.%s(%s): this test binary was not patched by hookpatch; "+
			"run the tests under it, with the switch rules in the package's hookpatch.toml: go test -gcflags=all=-l -exec \"hookpatch exec --\" ./...", api, name)
	}
	if err != nil {
		return nil, fmt.Errorf("mock.%s(%s): %v", api, name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if tg := targets[pc]; tg != nil {
		return tg, nil
	}
	e, ok := tbl.find(pc)
	if !ok {
		return nil, notSwitchable(api, name)
	}
	if e.abi != abiGo {
		return nil, fmt.Errorf("mock.%s(%s): hookpatch made it switchable with the C ABI; "+
			"a Go function value cannot be installed there", api, name)
	}
	tg := &target{name: name, entry: e, perG: map[uintptr][]*patch{}}
	tg.original = makeFuncValue(v.Type(), e.tramp)
	keep = append(keep, tg.original.Interface())
	targets[pc] = tg
	return tg, nil
}

func notSwitchable(api, name string) error {
	if strings.HasSuffix(name, "-fm") {
		return fmt.Errorf("mock.%s(%s): the target is a method value (x.M), bound to one receiver; "+
			"pass the method expression instead: (*T).M or T.M", api, name)
	}
	return fmt.Errorf("mock.%s(%s): the target is not switchable in this test binary; "+
		"add this rule to the package's hookpatch.toml:\n\n[[hook]]\ntarget = %q\naction = \"switch\"\n",
		api, name, name)
}

// methodWrapper refuses the method expressions whose code is a wrapper
// the compiler made, not the method: switching one would miss the direct
// calls. (*T).M of a method with a value receiver (T.M is the method), and
// I.M of an interface (it calls the dynamic type's method). The receiver
// is the first parameter; only exported methods can be looked up.
func methodWrapper(api, name string, typ reflect.Type) error {
	dot := strings.LastIndexByte(name, '.')
	if typ.NumIn() == 0 || dot < 0 {
		return nil
	}
	method, recv, owner := name[dot+1:], typ.In(0), name[:dot]
	switch {
	case recv.Kind() == reflect.Interface && recv.Name() != "" && strings.HasSuffix(owner, "."+recv.Name()):
		if _, ok := recv.MethodByName(method); ok {
			return fmt.Errorf("mock.%s(%s): an interface's method expression calls whatever method its "+
				"receiver has; switch the concrete type's method instead: (*T).%s or T.%s", api, name, method, method)
		}
	case recv.Kind() == reflect.Ptr && recv.Elem().Name() != "" &&
		strings.HasSuffix(owner, ".(*"+recv.Elem().Name()+")"):
		if _, ok := recv.Elem().MethodByName(method); ok {
			return fmt.Errorf("mock.%s(%s): %s has a value receiver, so this is a wrapper the compiler made "+
				"and direct calls do not go through it; switch %s.%s instead", api, name, method,
				recv.Elem().Name(), method)
		}
	}
	return nil
}

// newPatch wraps fn. A fn whose code is the target's own would jump back
// to the dispatch forever: it means "the original", so the trampoline is
// installed instead.
func (tg *target) newPatch(t testing.TB, fn interface{}) *patch {
	v := reflect.ValueOf(fn)
	if v.IsNil() {
		t.Fatalf("mock: a nil function cannot replace %s (mock.Original(%s) is the original)", tg.name, tg.name)
	}
	if tbl, _ := loadTable(); tbl != nil {
		if e, ok := tbl.find(codeOf(v)); ok && e.slot == tg.entry.slot {
			v = tg.original
		}
	}
	mu.Lock()
	keep = append(keep, v.Interface())
	mu.Unlock()
	return &patch{owner: t, fv: funcValueOf(v)}
}

// update publishes the current state: the dispatcher's first, then the
// slot (release), so a call that finds the dispatcher finds its state.
// Called with mu held.
func (tg *target) update() {
	slot := uintptr(0)
	if n := len(tg.global); n > 0 {
		slot = tg.global[n-1].fv
	}
	if len(tg.perG) > 0 {
		fallback := slot
		if fallback == 0 {
			fallback = funcValueOf(tg.original)
		}
		byG := make(map[uintptr]uintptr, len(tg.perG))
		for g, ps := range tg.perG {
			byG[g] = ps[len(ps)-1].fv
		}
		tg.disp.publish(fallback, byG)
		slot = uintptr(unsafe.Pointer(tg.disp))
	}
	atomic.StoreUintptr((*uintptr)(ptrAt(tg.entry.slot)), slot)
}

// related: b may Patch over a's Patch when b is a's test or one of its
// subtests (which run while a waits for them).
func related(a, b testing.TB) bool {
	return a == b || strings.HasPrefix(b.Name(), a.Name()+"/")
}

func without(ps []*patch, p *patch) []*patch {
	out := make([]*patch, 0, len(ps))
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// funcValueOf is what a variable of v's func type holds: a pointer to a
// closure whose first word is the code address. That pointer is what a
// Go slot holds.
func funcValueOf(v reflect.Value) uintptr {
	f := v.Interface()
	return uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&f))[1])
}

// codeOf is the code address of v's closure: for a named function or a
// method expression, the function's entry.
func codeOf(v reflect.Value) uintptr {
	return *(*uintptr)(ptrAt(funcValueOf(v)))
}

// makeFuncValue makes a func value of type typ whose code is at pc and
// that has no captured variables (a trampoline ignores the context).
func makeFuncValue(typ reflect.Type, pc uintptr) reflect.Value {
	closure := new(uintptr)
	*closure = pc
	fv := reflect.New(typ)
	*(*unsafe.Pointer)(fv.UnsafePointer()) = unsafe.Pointer(closure)
	return fv.Elem()
}

func funcName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return fmt.Sprintf("%#x", pc)
}
