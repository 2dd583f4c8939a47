package gou

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/yaoapp/gou/process"
	"github.com/yaoapp/kun/exception"
	yaowasm "github.com/yaoapp/yaowasm/bindings/go"
)

// testTmp is the temporary folder TestMain makes and removes.
var scriptsDir, studioDir, testTmp string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "yaowasm-gou-test")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		testTmp = dir
		_, self, _, _ := runtime.Caller(0)
		wat := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "testmod.wat")
		wasm := filepath.Join(dir, "testmod.wasm")
		if out, err := exec.Command("wat2wasm", wat, "-o", wasm).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "wat2wasm failed: %v\n%s", err, out)
			return 1
		}
		scriptsDir = filepath.Join(dir, "scripts")
		studioDir = filepath.Join(dir, "studio")
		for _, f := range []string{"scripts/a/t.wasm", "scripts/a/t.ts", "scripts/b.wasm", "scripts/v8only.ts", "studio/s.wasm"} {
			write(filepath.Join(dir, f), wasm)
		}
		return m.Run()
	}()
	os.Exit(code)
}

func write(to, wasm string) {
	data := []byte("export function Echo(...a) { return a }")
	if filepath.Ext(to) == ".wasm" {
		data, _ = os.ReadFile(wasm)
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	os.WriteFile(to, data, 0o644)
}

// setup registers a stand-in for V8's scripts/studio handlers, Go
// processes, and the adapter over two runtimes.
func setup(t *testing.T) { setupWith(t, Options{}) }

// setupWith is setup with opts (Scripts and Studio are set here).
func setupWith(t *testing.T, opts Options) {
	t.Helper()
	process.Register("scripts", func(p *process.Process) interface{} { return "v8:" + p.ID + "." + p.Method })
	process.Register("studio", func(p *process.Process) interface{} { return "v8studio:" + p.ID + "." + p.Method })
	process.Register("go.relay", func(p *process.Process) interface{} {
		// A Go process that calls back into another wasm script.
		return map[string]interface{}{"via": "go", "inner": process.New("scripts.b.Echo", p.Args...).Run()}
	})
	process.Register("go.fail", func(p *process.Process) interface{} {
		exception.New("no %s here", 451, "tea").Throw()
		return nil
	})
	process.Register("go.panic", func(p *process.Process) interface{} { panic(errors.New("plain panic")) })
	t.Cleanup(func() {
		for _, h := range []string{"scripts", "studio", "go.relay", "go.fail", "go.panic"} {
			delete(process.Handlers, h)
		}
	})
	scripts, studio := newRuntime(t, scriptsDir, 2), newRuntime(t, studioDir, 1)
	opts.Scripts, opts.Studio = scripts, studio
	a, err := Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Unregister)
}

func newRuntime(t *testing.T, dir string, n int) *yaowasm.Runtime {
	rt, err := yaowasm.New(yaowasm.Config{TimeoutMs: 5000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if rep, err := rt.LoadDir(dir); err != nil || rep.Loaded != n {
		t.Fatalf("%+v %v", rep, err)
	}
	return rt
}

// run is process.New(name, args...).Run() with the thrown exception caught
// whole (gou's Exec keeps only its message).
func run(name string, args ...interface{}) (value interface{}, code int, msg string) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exception.Exception)
			if !ok {
				panic(r)
			}
			value, code, msg = nil, e.Code, e.Message
		}
	}()
	return process.New(name, args...).Run(), 0, ""
}

func TestRouting(t *testing.T) {
	setup(t)
	for _, c := range []struct {
		name string
		args []interface{}
		want interface{}
	}{
		{"scripts.a.t.Echo", []interface{}{1, "x"}, []interface{}{1, "x"}}, // .wasm beats a/t.ts
		{"scripts.A.T.Echo", []interface{}{2}, []interface{}{2}},           // gou lower-cases the ID
		{"scripts.b.Nil", nil, nil},
		{"scripts.v8only.Hello", nil, "v8:v8only.Hello"}, // no .wasm: V8 keeps it
		{"scripts.a.Echo", nil, "v8:a.Echo"},             // ID a is not loaded (a.t is)
		{"studio.s.Echo", []interface{}{3}, []interface{}{3}},
		{"studio.other.Run", nil, "v8studio:other.Run"},
		{"scripts.s.Echo", nil, "v8:s.Echo"}, // studio's scripts are not scripts.*
	} {
		got, err := process.New(c.name, c.args...).Exec()
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
}

func TestWasmCallsGoCallsWasm(t *testing.T) {
	setup(t)
	// scripts.a.t.Call -> yao.process("go.relay", [5, "y"]) -> Go handler ->
	// process.New("scripts.b.Echo", 5, "y").Run() -> yaowasm again.
	got, err := process.New("scripts.a.t.Call", "go.relay", []interface{}{5, "y"}).Exec()
	want := map[string]interface{}{"via": "go", "inner": []interface{}{5, "y"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	// A guest's call to a script yaowasm has not loaded goes through gou to V8.
	got, err = process.New("scripts.a.t.Call", "scripts.v8only.Hello", []interface{}{}).Exec()
	if err != nil || got != "v8:v8only.Hello" {
		t.Fatalf("got %#v, %v", got, err)
	}
}

func TestCodesBothWays(t *testing.T) {
	setup(t)
	// yaowasm -> gou: a guest's error is thrown with its code.
	if _, code, msg := run("scripts.a.t.Fail"); code != 418 || msg != "teapot" {
		t.Errorf("Fail: %d %q", code, msg)
	}
	if _, code, _ := run("scripts.a.t.Nope"); code != 404 {
		t.Errorf("Nope: %d", code)
	}
	// gou's Exec gives the message (v0.10.3) or "Exception|<code>: <message>"
	// (gou main, through kun's exception.Catch).
	if _, err := process.New("scripts.a.t.Fail").Exec(); err == nil || (err.Error() != "teapot" && err.Error() != "Exception|418: teapot") {
		t.Errorf("Exec: %v", err)
	}
	// gou -> yaowasm -> gou: a Go process's exception reaches the guest with its
	// code, the guest passes it on, and it is thrown again with that code.
	if _, code, msg := run("scripts.a.t.Call", "go.fail", []interface{}{}); code != 451 || msg != "no tea here" {
		t.Errorf("go.fail: %d %q", code, msg)
	}
	if _, code, _ := run("scripts.a.t.Call", "go.panic", []interface{}{}); code != 500 {
		t.Errorf("go.panic: %d", code)
	}
	if _, code, _ := run("scripts.a.t.Call", "nosuch.process", []interface{}{}); code != 404 {
		t.Errorf("nosuch: %d", code)
	}
	// Directly, as a guest's handler sees it.
	_, err := ExecProcess(context.Background(), "go.fail", nil)
	if yaowasm.Code(err) != 451 {
		t.Errorf("ExecProcess: %v", err)
	}
}

func TestUnregisterRestores(t *testing.T) {
	setup(t)
	rt := newRuntime(t, scriptsDir, 2)
	a, err := Register(Options{Scripts: rt})
	if err != nil {
		t.Fatal(err)
	}
	a.Unregister()
	// The handler before this second registration (the first adapter) is back.
	if got, err := process.New("scripts.a.t.Echo", 1).Exec(); err != nil || !reflect.DeepEqual(got, []interface{}{1}) {
		t.Fatalf("%#v %v", got, err)
	}
}
