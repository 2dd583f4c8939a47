package yaowasm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// testWasm is bindings/testdata/testmod.wat assembled; scriptsDir holds it
// as a/t.wasm (script a.t) and b.wasm (script b).
var testWasm, scriptsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "yaowasm-go-test")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		_, self, _, _ := runtime.Caller(0)
		wat := filepath.Join(filepath.Dir(self), "..", "testdata", "testmod.wat")
		testWasm = filepath.Join(dir, "testmod.wasm")
		if out, err := exec.Command("wat2wasm", wat, "-o", testWasm).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "wat2wasm (wabt, from scripts/setup.sh) failed: %v\n%s", err, out)
			return 1
		}
		scriptsDir = filepath.Join(dir, "scripts")
		copyFile(testWasm, filepath.Join(scriptsDir, "a", "t.wasm"))
		copyFile(testWasm, filepath.Join(scriptsDir, "b.wasm"))
		return m.Run()
	}()
	os.Exit(code)
}

func copyFile(from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		panic(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		panic(err)
	}
}
