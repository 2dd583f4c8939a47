package gou

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"

	"github.com/yaoapp/gou/lang"
	"github.com/yaoapp/gou/process"
)

// The call context with a TypeScript script, as Yao runs one: gou calls
// scripts.ts.who.<Fn> (built here with the yaowasm CLI), whose Process()
// calls reach the example Rust module (scripts.rust.user.BeforeSave) and,
// through it, a Go process registered in gou.

// whoTS is the TypeScript script: what gou's V8 scripts read of the call
// context, and Process() calls (one of them to the Rust module).
const whoTS = `
function Who() {
  return { authorized: Authorized(), data: __yao_data };
}
function Say(text: string) {
  return [$L(text), $L("::" + text), $L(7)];
}
function Save(payload: Record<string, unknown>) {
  return Process("scripts.rust.user.BeforeSave", payload);
}
`

var (
	tsOnce sync.Once
	tsDir  string // the scripts folder: ts/who.wasm and rust/user.wasm
	tsSkip string // why the TS tests cannot run here
	tsErr  error
)

// tsScripts builds whoTS with the yaowasm CLI (target/debug/yaowasm, which
// scripts/test.d/45-go.sh builds) and copies the example Rust module
// (examples/app/scripts/rust/user.wasm, built by
// examples/guests/build-rust-c.sh) beside it, once.
func tsScripts(t *testing.T) string {
	t.Helper()
	tsOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..", "..")
		cli := filepath.Join(root, "target", "debug", "yaowasm")
		rust := filepath.Join(root, "examples", "app", "scripts", "rust", "user.wasm")
		if _, err := os.Stat(cli); err != nil {
			tsSkip = "the yaowasm CLI is not built (" + cli + "): run `cargo build -p yaowasm-cli`"
			return
		}
		if _, err := os.Stat(rust); err != nil {
			tsSkip = "the example Rust module is not built (" + rust + "): run examples/guests/build-rust-c.sh"
			return
		}
		dir := filepath.Join(testTmp, "ts-app", "scripts")
		src := filepath.Join(testTmp, "ts-src", "who.ts")
		for _, d := range []string{filepath.Join(dir, "ts"), filepath.Join(dir, "rust"), filepath.Dir(src)} {
			if tsErr = os.MkdirAll(d, 0o755); tsErr != nil {
				return
			}
		}
		if tsErr = os.WriteFile(src, []byte(whoTS), 0o644); tsErr != nil {
			return
		}
		cmd := exec.Command(cli, "build", "-q", src, "--out", filepath.Join(dir, "ts", "who.wasm"))
		cmd.Env = withoutEnv(os.Environ(), "RUST_BACKTRACE")
		if out, err := cmd.CombinedOutput(); err != nil {
			tsErr = fmt.Errorf("yaowasm build %s: %v\n%s", src, err, out)
			return
		}
		data, err := os.ReadFile(rust)
		if err != nil {
			tsErr = err
			return
		}
		tsErr = os.WriteFile(filepath.Join(dir, "rust", "user.wasm"), data, 0o644)
		tsDir = dir
	})
	if tsSkip != "" {
		t.Skip(tsSkip)
	}
	if tsErr != nil {
		t.Fatal(tsErr)
	}
	return tsDir
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) <= len(name) || kv[:len(name)+1] != name+"=" {
			out = append(out, kv)
		}
	}
	return out
}

// setupTS registers the adapter over a runtime loaded with the TS script and
// the Rust module, and the Go process models.user.Find answers: the
// session, globals and model it runs with, and the id it was given.
func setupTS(t *testing.T) {
	t.Helper()
	dir := tsScripts(t)
	process.Register("models.find", func(p *process.Process) interface{} {
		return map[string]interface{}{"sid": p.Sid, "global": p.Global, "model": p.ID, "id": p.Args[0]}
	})
	t.Cleanup(func() { delete(process.Handlers, "models.find") })
	a, err := Register(Options{Scripts: newRuntime(t, dir, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Unregister)
}

func TestTSReadsTheCallersSession(t *testing.T) {
	setupTS(t)
	// gou v0.10.3's Process has no Authorized: Authorized() is null and
	// __yao_data has no AUTHORIZED, as on V8 (SetShareData sets it only
	// when there is one).
	got, err := process.New("scripts.ts.who.Who").WithSID("SID-42").WithGlobal(map[string]interface{}{"tenant": "t1"}).Exec()
	want := map[string]interface{}{
		"authorized": nil,
		"data":       map[string]interface{}{"SID": "SID-42", "ROOT": false, "DATA": map[string]interface{}{"tenant": "t1"}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("with a session: got %#v, %v", got, err)
	}
	got, err = process.New("scripts.ts.who.Who").Exec()
	want = map[string]interface{}{
		"authorized": nil,
		"data":       map[string]interface{}{"SID": "", "ROOT": false, "DATA": map[string]interface{}{}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("without a session: got %#v, %v", got, err)
	}
}

func TestGouTSRustGo(t *testing.T) {
	setupTS(t)
	// gou -> TS (Process) -> Rust (BeforeSave: process("models.user.Find", id))
	// -> Go: the innermost Go process runs with the outermost call's session
	// and globals; BeforeSave lays the payload over what it found.
	payload := map[string]interface{}{"id": 7, "name": "Ada"}
	global := map[string]interface{}{"tenant": "t1", "n": 3}
	got, err := process.New("scripts.ts.who.Save", payload).WithSID("SID-42").WithGlobal(global).Exec()
	want := map[string]interface{}{
		"sid": "SID-42", "global": map[string]interface{}{"tenant": "t1", "n": 3},
		"model": "user", "id": 7, "name": "Ada",
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, %v\nwant %#v", got, err, want)
	}
	got, err = process.New("scripts.ts.who.Save", payload).Exec()
	want = map[string]interface{}{"sid": "", "global": map[string]interface{}{}, "model": "user", "id": 7, "name": "Ada"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("without a session: got %#v, %v\nwant %#v", got, err, want)
	}
}

// The WAT guests' version is TestConcurrentSessionsStayApart.
func TestTSConcurrentSessionsStayApart(t *testing.T) {
	setupTS(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				sid := fmt.Sprintf("S%d-%d", g, i)
				global := map[string]interface{}{"g": g}
				name := "scripts.ts.who.Save"
				args := []interface{}{map[string]interface{}{"id": i}}
				want := interface{}(map[string]interface{}{"sid": sid, "global": map[string]interface{}{"g": g}, "model": "user", "id": i})
				if i%2 == 1 { // every other call reads the context in TS itself
					name, args = "scripts.ts.who.Who", nil
					want = map[string]interface{}{"authorized": nil, "data": map[string]interface{}{"SID": sid, "ROOT": false, "DATA": map[string]interface{}{"g": g}}}
				}
				got, err := process.New(name, args...).WithSID(sid).WithGlobal(global).Exec()
				if err != nil || !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("goroutine %d call %d (%s): got %#v, %v", g, i, name, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// $L reads gou's default language dictionary, as on V8.
func TestTSDollarLUsesGousDefaultDictionary(t *testing.T) {
	setupTS(t)
	saved := lang.Default
	lang.Default = &lang.Dict{Name: "zh-cn", Global: lang.Words{"Pet": "宠物"}, Widgets: map[string]lang.Words{}}
	defer func() { lang.Default = saved }()
	got, err := process.New("scripts.ts.who.Say", "Pet").Exec()
	if want := []interface{}{"宠物", "宠物", 7}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Pet: got %#v, %v, want %#v", got, err, want)
	}
	got, err = process.New("scripts.ts.who.Say", "Dog").Exec()
	if want := []interface{}{"Dog", "Dog", 7}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("a word the dictionary lacks: got %#v, %v, want %#v", got, err, want)
	}
}
