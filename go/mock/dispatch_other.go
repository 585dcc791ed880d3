//go:build !amd64 && !arm64

package mock

// hookpatch rewrites x86-64 and arm64 only: elsewhere there is no
// dispatcher, and PatchGoroutine says so.
func dispatch() {}

func dispatchCode() uintptr { return 0 }
