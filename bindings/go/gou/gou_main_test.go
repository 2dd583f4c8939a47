//go:build gou_main

// Tests of the API only current gou (main) has: Process.Authorized,
// Process.Context, Execute/Value/Release. Run against a local gou/kun
// checkout with -tags gou_main (README.md, "Current gou").

package gou

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/yaoapp/gou/process"
	"github.com/yaoapp/kun/exception"
)

func TestCurrentGouAuthorizedAndContextReachNestedProcesses(t *testing.T) {
	setup(t)
	process.Register("test.whoami.auth", func(p *process.Process) interface{} {
		var user, team interface{}
		if p.Authorized != nil {
			user, team = p.Authorized.UserID, p.Authorized.TeamID
		}
		return map[string]interface{}{"sid": p.Sid, "global": p.Global, "user": user, "team": team, "ctx": p.Context != nil}
	})
	t.Cleanup(func() { delete(process.Handlers, "test.whoami.auth") })
	auth := &process.AuthorizedInfo{UserID: "u1", TeamID: "team9"}
	want := map[string]interface{}{"sid": "SID-42", "global": map[string]interface{}{"tenant": "t1"}, "user": "u1", "team": "team9", "ctx": true}
	for what, args := range map[string][]interface{}{
		"gou -> wasm -> Go":         {"test.whoami.auth", []interface{}{}},
		"gou -> wasm -> wasm -> Go": {"scripts.b.Call", []interface{}{"test.whoami.auth", []interface{}{}}},
	} {
		// Execute/Value/Release, as Yao runs processes today.
		p := process.New("scripts.a.t.Call", args...).WithSID("SID-42").
			WithGlobal(map[string]interface{}{"tenant": "t1"}).WithAuthorized(auth)
		if err := p.Execute(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := p.Value()
		p.Release()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", what, got, want)
		}
	}
}

func TestCurrentGouCancelledContextStopsTheGuest(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := process.New("scripts.a.t.Echo", 1).WithContext(ctx).Exec(); err == nil {
		t.Fatal("a cancelled Process.Context must stop the call")
	}
	if _, code, _ := runWith(process.New("scripts.a.t.Echo", 1).WithContext(ctx)); code != 408 {
		t.Errorf("cancelled: code %d, want 408", code)
	}
	expired, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	time.Sleep(time.Millisecond)
	if _, code, _ := runWith(process.New("scripts.a.t.Echo", 1).WithContext(expired)); code != 408 {
		t.Errorf("expired: code %d, want 408", code)
	}
}

// runWith is run for a prepared Process.
func runWith(p *process.Process) (value interface{}, code int, msg string) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exception.Exception)
			if !ok {
				panic(r)
			}
			value, code, msg = nil, e.Code, e.Message
		}
	}()
	return p.Run(), 0, ""
}
