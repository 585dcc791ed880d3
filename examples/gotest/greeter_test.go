package greeter

import (
	"testing"
	"time"
)

// These replacements are patched in by hookpatch (rules.toml) before the
// test binary runs; nothing is patched at run time, so tests may run in
// parallel and no code page is ever made writable.

// fakeNow stands in for time.Now: always 9:30 in the morning.
func fakeNow() time.Time { return time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC) }

// fakeNext stands in for (*Counter).Next. A method's receiver is its first
// parameter, so the replacement is a plain function taking it first.
func fakeNext(c *Counter) int { return 42 }

// The linker drops functions nothing refers to; keep the replacements in
// the binary by referring to them from a variable the tests read.
var replacements = []interface{}{fakeNow, fakeNext}

func TestReplacementsPresent(t *testing.T) {
	if len(replacements) != 2 {
		t.Fatal("replacements must stay referenced")
	}
}

func TestMorningGreeting(t *testing.T) {
	t.Parallel()
	if got, want := Greeting("Ada"), "Good morning, Ada!"; got != want {
		t.Fatalf("Greeting() = %q, want %q (is the binary patched? run with hookpatch exec)", got, want)
	}
}

func TestCounterIsMocked(t *testing.T) {
	t.Parallel()
	var c Counter
	if got := c.Next(); got != 42 {
		t.Fatalf("Next() = %d, want 42 from the replacement", got)
	}
}
