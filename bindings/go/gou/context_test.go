package gou

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/yaoapp/gou/process"
)

// whoami is the Go process: it answers the session and globals it
// runs with.
func registerWhoami(t *testing.T) {
	process.Register("test.whoami", func(p *process.Process) interface{} {
		return map[string]interface{}{"sid": p.Sid, "global": p.Global}
	})
	// A Go process in the middle (wasm -> Go -> wasm -> Go), passing its own
	// session on as V8's Process() does.
	process.Register("test.relay", func(p *process.Process) interface{} {
		return process.New("scripts.b.Call", "test.whoami", []interface{}{}).WithSID(p.Sid).WithGlobal(p.Global).Run()
	})
	t.Cleanup(func() {
		delete(process.Handlers, "test.whoami")
		delete(process.Handlers, "test.relay")
	})
}

func TestNestedProcessesRunWithTheCallersSession(t *testing.T) {
	setup(t)
	registerWhoami(t)
	global := map[string]interface{}{"tenant": "t1"}
	want := map[string]interface{}{"sid": "SID-42", "global": map[string]interface{}{"tenant": "t1"}}
	for what, args := range map[string][]interface{}{
		"gou -> wasm -> Go":                 {"test.whoami", []interface{}{}},
		"gou -> wasm -> wasm -> Go":         {"scripts.b.Call", []interface{}{"test.whoami", []interface{}{}}},
		"gou -> wasm -> wasm -> wasm -> Go": {"scripts.b.Call", []interface{}{"scripts.a.t.Call", []interface{}{"test.whoami", []interface{}{}}}},
		"gou -> wasm -> Go -> wasm -> Go":   {"test.relay", []interface{}{}},
	} {
		got, err := process.New("scripts.a.t.Call", args...).WithSID("SID-42").WithGlobal(global).Exec()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, %v", what, got, err)
		}
		// Without a session: what a Go process called without one sees.
		got, err = process.New("scripts.a.t.Call", args...).Exec()
		if want := map[string]interface{}{"sid": "", "global": map[string]interface{}{}}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s without a session: got %#v, %v", what, got, err)
		}
	}
}

func TestConcurrentSessionsStayApart(t *testing.T) {
	setup(t)
	registerWhoami(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				sid := fmt.Sprintf("S%d-%d", g, i)
				global := map[string]interface{}{"g": g}
				got, err := process.New("scripts.a.t.Call", "scripts.b.Call", []interface{}{"test.whoami", []interface{}{}}).
					WithSID(sid).WithGlobal(global).Exec()
				want := map[string]interface{}{"sid": sid, "global": map[string]interface{}{"g": g}}
				if err != nil || !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("goroutine %d call %d: got %#v, %v", g, i, got, err)
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
