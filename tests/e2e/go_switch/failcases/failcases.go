// Package failcases: tests that must fail, with hookpatch.dev/mock's
// messages (go_switch.sh runs them with -tags failcases and checks them).
package failcases

func Listed(x int) int   { return x }
func Unlisted(x int) int { return x }
