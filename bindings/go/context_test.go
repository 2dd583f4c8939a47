package yaowasm

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// The call context (SPEC §3a) reaches the ProcessHandler at every depth,
// through a handler's own Exec too, and goroutines never see each other's.
func TestCallContext(t *testing.T) {
	r := newRuntime(t, Config{})
	r.SetProcessHandler(func(ctx context.Context, name string, args []any) (any, error) {
		switch name {
		case "host.who":
			cc, ok := CallContextFrom(ctx)
			if !ok {
				return nil, nil
			}
			return map[string]any{"sid": cc.Sid, "global": cc.Global, "authorized": cc.Authorized}, nil
		case "host.reenter": // wasm -> Go -> wasm -> Go, with a plain ctx
			return r.Exec(context.Background(), "scripts.b.Call", "host.who", []any{})
		}
		return nil, Errorf(404, "no %s", name)
	})
	cc := CallContext{Sid: "SID-42", Global: map[string]any{"tenant": "t1"}, Authorized: map[string]any{"user_id": 7}}
	want := map[string]any{"sid": "SID-42", "global": map[string]any{"tenant": "t1"}, "authorized": map[string]any{"user_id": 7}}
	ctx := WithCallContext(context.Background(), cc)
	calls := map[string][]any{
		"depth 1":                {"host.who", []any{}},
		"depth 2":                {"scripts.b.Call", []any{"host.who", []any{}}},
		"depth 3":                {"scripts.b.Call", []any{"scripts.a.t.Call", []any{"host.who", []any{}}}},
		"through the Go handler": {"host.reenter", []any{}},
	}
	for what, args := range calls {
		got, err := r.Exec(ctx, "scripts.a.t.Call", args...)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %#v %v", what, got, err)
		}
		got, err = r.Exec(context.Background(), "scripts.a.t.Call", args...)
		if err != nil || got != nil {
			t.Fatalf("%s without a context: %#v %v", what, got, err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				sid := fmt.Sprintf("S%d-%d", g, i)
				ctx := WithCallContext(context.Background(), CallContext{Sid: sid, Global: map[string]any{"g": g}})
				got, err := r.Exec(ctx, "scripts.a.t.Call", "scripts.b.Call", []any{"host.who", []any{}})
				m, _ := got.(map[string]any)
				if err != nil || m["sid"] != sid || !reflect.DeepEqual(m["global"], map[string]any{"g": g}) {
					errs <- fmt.Errorf("goroutine %d: %#v %v", g, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
