// A Go guest for tests/preinit.rs: what a call sees as its own when the
// module is pre-initialized (docs/ABI.md §2).
package main

import (
	"math/rand"
	"os"
	"time"

	yao "github.com/yaoapp/yaowasm/sdk/go"
)

// A reactor module has no main to run; Go still wants one.
func main() {}

// initializedAt is set by package initialization: once at load when the
// module is pre-initialized, in every call when it is not.
var initializedAt = time.Now()

//go:wasmexport Fresh
func fresh(p, n uint32) uint64 { return yao.Handle(p, n, Fresh) }

// Fresh returns a number from math/rand's top-level functions, the time,
// the key a new map's iteration starts at, and when the package was
// initialized, by the wall clock and by the monotonic one.
func Fresh([]any) (any, error) {
	m := map[int]bool{}
	for i := range 16 {
		m[i] = true
	}
	first := -1
	for k := range m {
		first = k
		break
	}
	now := time.Now()
	return map[string]any{
		"rand":                  rand.Int63(),
		"now_unix_nano":         now.UnixNano(),
		"initialized_unix_nano": initializedAt.UnixNano(),
		"since_init_ns":         int64(now.Sub(initializedAt)),
		"first_key":             first,
	}, nil
}

//go:wasmexport ReadFile
func readFile(p, n uint32) uint64 { return yao.Handle1(p, n, ReadFile) }

// ReadFile reads a file through WASI: Go's syscall package learns the
// preopened folders during initialization.
func ReadFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
