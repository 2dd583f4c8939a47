//go:build !wasip1

// The script's functions tested on the host machine (plain `go test`, no
// wasm): yao.SetTestHost stands in for yaowasm.
package main

import (
	"errors"
	"reflect"
	"testing"

	yao "github.com/yaoapp/yaowasm/sdk/go"
)

type host struct {
	logs []string
}

func (h *host) Process(name string, args []any) (any, error) {
	switch {
	case name == "models.user.Find" && args[0] == int64(1):
		return map[string]any{"id": int64(1), "name": "Ada", "email": "ada@example.com"}, nil
	case name == "models.user.Find":
		return nil, yao.NewError(404, "user not found")
	case name == "scripts.go.user.Check":
		return Check(args)
	}
	return nil, yao.NewError(404, "no "+name)
}

func (h *host) Log(level yao.Level, msg string) { h.logs = append(h.logs, level.String()+" "+msg) }

func TestCheck(t *testing.T) {
	got, err := Check([]any{map[string]any{"name": "", "email": "x", "age": int64(151)}})
	want := map[string]any{"valid": false, "errors": []string{"name is required", "email is invalid", "age is out of range"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	_, err = Check([]any{"not a map"})
	var ye *yao.Error
	if !errors.As(err, &ye) || ye.Code != 400 || ye.Message != "payload must be a map" {
		t.Fatalf("got %v", err)
	}
}

func TestBeforeSaveMergesOverTheStoredUser(t *testing.T) {
	yao.SetTestHost(&host{})
	defer yao.SetTestHost(nil)
	got, err := BeforeSave([]any{map[string]any{"id": int64(1), "name": "Grace"}})
	want := map[string]any{"id": int64(1), "name": "Grace", "email": "ada@example.com"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	_, err = BeforeSave([]any{map[string]any{"id": int64(2)}})
	var ye *yao.Error
	if !errors.As(err, &ye) || ye.Code != 404 || ye.Message != "user not found" {
		t.Fatalf("got %v", err)
	}
}

func TestLogAndNested(t *testing.T) {
	h := &host{}
	yao.SetTestHost(h)
	defer yao.SetTestHost(nil)
	if v, err := Log([]any{"hi"}); v != nil || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
	if want := []string{"trace hi", "debug hi", "info hi", "warn hi", "error hi"}; !reflect.DeepEqual(h.logs, want) {
		t.Fatalf("logs %q", h.logs)
	}
	if v, err := Nested([]any{map[string]any{"name": "A", "email": "a@b"}}); v != true || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}
