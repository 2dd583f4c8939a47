//go:build !wasip1

// The script's functions tested on the host machine (plain `go test`, no
// wasm): yao.SetTestHost stands in for yaowasm.
package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
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

// apiHost serves the host API the way yaowasm's conformance host does: a
// store as a map, the fs root "data" as a temporary folder, one HTTP answer
// and query.Run. It records the calls.
type apiHost struct {
	host
	calls [][]any
	store map[string]any
	data  string
}

func (h *apiHost) Process(name string, args []any) (any, error) {
	h.calls = append(h.calls, []any{name, args})
	if method, ok := strings.CutPrefix(name, "stores.s."); ok {
		return h.storeCall(method, args)
	}
	if method, ok := strings.CutPrefix(name, "fs.data."); ok {
		return h.fsCall(method, args)
	}
	switch name {
	case "http.Get", "http.Post":
		if args[0] == "http://127.0.0.1:1/x" {
			return nil, yao.NewError(403, "http: 127.0.0.1:1 is not in http_allow")
		}
		return map[string]any{"status": 200, "headers": map[string]any{"content-type": []any{"application/json"}}, "data": arg(args, 1)}, nil
	case "http.Put", "http.Patch", "http.Delete", "http.Head", "http.Send":
		return map[string]any{"status": 200, "headers": map[string]any{"x-echo": []any{name}}}, nil
	case "query.Run":
		return []any{map[string]any{"id": 1}}, nil
	}
	return h.host.Process(name, args)
}

func (h *apiHost) storeCall(method string, args []any) (any, error) {
	s := h.store
	switch method {
	case "Get":
		return s[args[0].(string)], nil
	case "Set":
		s[args[0].(string)] = args[1]
		return nil, nil
	case "Has":
		_, ok := s[args[0].(string)]
		return ok, nil
	case "Del":
		delete(s, args[0].(string))
		return nil, nil
	case "Keys":
		keys := []string{}
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys, nil
	case "Len":
		return len(s), nil
	case "Clear":
		clear(s)
		return nil, nil
	case "GetSet":
		if v, ok := s[args[0].(string)]; ok {
			return v, nil
		}
		s[args[0].(string)] = args[1]
		return args[1], nil
	case "GetDel":
		v := s[args[0].(string)]
		delete(s, args[0].(string))
		return v, nil
	}
	return nil, yao.NewError(404, "no store method "+method)
}

// fsCall serves the FS methods FsRoundTrip and FsRead use from h.data.
func (h *apiHost) fsCall(method string, args []any) (any, error) {
	rel := args[0].(string)
	if strings.Contains(rel, "..") {
		return nil, yao.Errorf(403, "fs: %q has a '..' component", rel)
	}
	path := filepath.Join(h.data, rel)
	text := func(v any) []byte {
		if s, ok := v.(string); ok {
			return []byte(s)
		}
		return v.([]byte)
	}
	stat, statErr := os.Stat(path)
	var err error
	switch method {
	case "ReadFile":
		b, err := os.ReadFile(path)
		return string(b), err
	case "WriteFile", "WriteFileBuffer":
		return len(text(args[1])), os.WriteFile(path, text(args[1]), 0o644)
	case "AppendFile":
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return f.Write(text(args[1]))
	case "Exists":
		return statErr == nil, nil
	case "IsFile":
		return statErr == nil && stat.Mode().IsRegular(), nil
	case "IsDir":
		return statErr == nil && stat.IsDir(), nil
	case "Size":
		return stat.Size(), statErr
	case "Copy":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		err = os.WriteFile(filepath.Join(h.data, args[1].(string)), b, 0o644)
	case "Move":
		err = os.Rename(path, filepath.Join(h.data, args[1].(string)))
	case "Mkdir":
		err = os.Mkdir(path, 0o755)
	case "MkdirAll":
		err = os.MkdirAll(path, 0o755)
	case "Remove":
		err = os.Remove(path)
	case "RemoveAll":
		err = os.RemoveAll(path)
	case "ReadDir":
		list := []string{}
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == path {
				return err
			}
			r, _ := filepath.Rel(h.data, p)
			list = append(list, filepath.ToSlash(r))
			if d.IsDir() && args[1] != true {
				return filepath.SkipDir
			}
			return nil
		})
		return list, err
	default:
		return nil, yao.NewError(404, "no fs method "+method)
	}
	return nil, err
}

func newAPIHost(t *testing.T) *apiHost {
	h := &apiHost{store: map[string]any{}, data: t.TempDir()}
	yao.SetTestHost(h)
	t.Cleanup(func() { yao.SetTestHost(nil) })
	return h
}

func TestStoreRoundTrip(t *testing.T) {
	h := newAPIHost(t)
	user := map[string]any{"name": "Ada", "tags": []any{int64(1), 2.5}, "raw": []byte{0, 1, 2, 255}}
	got, err := StoreRoundTrip([]any{"s", "user", user})
	want := map[string]any{
		"get": user, "has": true, "kept": user, "fresh": "new", "keys": []string{"fresh", "user"}, "len": 2,
		"taken": user, "after": nil, "has_after": false,
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	// The calls the conformance case expects of a host store, in order.
	wantCalls := [][]any{
		{"stores.s.Clear", []any{}},
		{"stores.s.Set", []any{"user", user, int64(60)}},
		{"stores.s.Get", []any{"user"}},
		{"stores.s.Has", []any{"user"}},
		{"stores.s.GetSet", []any{"user", "other"}},
		{"stores.s.GetSet", []any{"fresh", "new"}},
		{"stores.s.Keys", []any{}},
		{"stores.s.Len", []any{}},
		{"stores.s.GetDel", []any{"user"}},
		{"stores.s.Get", []any{"user"}},
		{"stores.s.Del", []any{"fresh"}},
		{"stores.s.Has", []any{"fresh"}},
	}
	if !reflect.DeepEqual(h.calls, wantCalls) {
		t.Fatalf("calls %#v", h.calls)
	}
	if _, err := StoreRoundTrip([]any{"s"}); err == nil {
		t.Fatal("a missing key is a 400")
	}
}

// The conformance table checks StoreLists' results against real stores;
// here, that the first unexpected error is the one it answers.
func TestStoreListsPassesTheFirstUnexpectedErrorOn(t *testing.T) {
	h := newAPIHost(t) // its store has no list methods: Push is a 404
	_, err := StoreLists([]any{"s", "q"})
	var e *yao.Error
	if !errors.As(err, &e) || e.Code != 404 || e.Message != "no store method Push" {
		t.Fatalf("got %#v", err)
	}
	if first := h.calls[2]; first[0] != "stores.s.Push" || !reflect.DeepEqual(first[1], []any{"q", int64(1), "two"}) {
		t.Fatalf("third call %#v", first)
	}
	if _, err := StoreLists([]any{"s"}); err == nil {
		t.Fatal("a missing key is a 400")
	}
}

func TestFsRoundTripAndRead(t *testing.T) {
	h := newAPIHost(t)
	got, err := FsRoundTrip([]any{"conformance/trip", "héllo"})
	want := map[string]any{
		"written": 6, "appended": 1, "read": "héllo!", "exists": true, "is_file": true, "is_dir": true, "size": int64(7),
		"list": []string{"conformance/trip/moved.txt", "conformance/trip/note.txt"},
		"tree": []string{"conformance/trip/note.txt", "conformance/trip/sub", "conformance/trip/sub/raw.bin"},
		"gone": true,
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(h.data, "hello.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := FsRead([]any{"hello.txt"}); v != "hi" || err != nil {
		t.Fatalf("FsRead: %#v %v", v, err)
	}
	_, err = FsRead([]any{"../secret.txt"})
	var ye *yao.Error
	if !errors.As(err, &ye) || ye.Code != 403 {
		t.Fatalf("FsRead outside: %v", err)
	}
	// A step that fails stops the round trip with its error.
	if _, err := FsRoundTrip([]any{"../x", "t"}); !errors.As(err, &ye) || ye.Code != 403 {
		t.Fatalf("FsRoundTrip outside: %v", err)
	}
}

func TestHttpAndQuery(t *testing.T) {
	h := newAPIHost(t)
	got, err := HttpPost([]any{"http://127.0.0.1:8080/echo", map[string]any{"s": "x"}})
	want := map[string]any{"status": 200, "content_type": "application/json", "data": map[string]any{"s": "x"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("HttpPost: %#v %v", got, err)
	}
	_, err = HttpGet([]any{"http://127.0.0.1:1/x"})
	var ye *yao.Error
	if !errors.As(err, &ye) || ye.Code != 403 || ye.Message != "http: 127.0.0.1:1 is not in http_allow" {
		t.Fatalf("HttpGet refused: %v", err)
	}
	dsl := map[string]any{"select": []any{"id"}, "from": "user"}
	rows, err := Query([]any{dsl})
	if err != nil || !reflect.DeepEqual(rows, []any{map[string]any{"id": int64(1)}}) {
		t.Fatalf("Query: %#v %v", rows, err)
	}
	if last := h.calls[len(h.calls)-1]; !reflect.DeepEqual(last, []any{"query.Run", []any{dsl}}) {
		t.Fatalf("query call %#v", last)
	}
}

func TestHttpMethods(t *testing.T) {
	h := newAPIHost(t)
	const url = "http://127.0.0.1:8080/echo"
	got, err := HttpMethods([]any{url})
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]string{"put": "http.Put", "patch": "http.Patch", "delete": "http.Delete", "head": "http.Head", "options": "http.Send"}
	for step, name := range steps {
		want := map[string]any{"status": 200, "echo": name, "data": nil}
		if seen := got.(map[string]any)[step]; !reflect.DeepEqual(seen, want) {
			t.Errorf("%s: %#v, want %#v", step, seen, want)
		}
	}
	tag := func(step string) []any {
		return []any{map[string]any{"q": step}, map[string]any{"X-Conformance": step}}
	}
	want := [][]any{
		{"http.Put", append([]any{url, map[string]any{"name": "Ada", "tags": []any{int64(1), int64(2)}}}, tag("put")...)},
		{"http.Patch", append([]any{url, "patch text"}, tag("patch")...)},
		{"http.Delete", append([]any{url, nil}, tag("delete")...)},
		{"http.Head", append([]any{url, nil}, tag("head")...)},
		{"http.Send", append(append([]any{"OPTIONS", url, nil}, tag("options")...), int64(5000))},
	}
	if !reflect.DeepEqual(h.calls, want) {
		t.Fatalf("calls: %#v\nwant %#v", h.calls, want)
	}
}

func TestHttpUpload(t *testing.T) {
	h := newAPIHost(t)
	got, err := HttpUpload([]any{"http://127.0.0.1:8080"})
	fields := map[string]any{"user": "Ada", "n": int64(3)}
	want := map[string]any{"status": 200, "data": fields}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("HttpUpload: %#v %v", got, err)
	}
	var names []string
	var post []any
	for _, call := range h.calls {
		names = append(names, call[0].(string))
		if call[0] == "http.Post" {
			post = call[1].([]any)
		}
	}
	wantNames := []string{"fs.data.MkdirAll", "fs.data.WriteFile", "fs.data.WriteFileBuffer", "http.Post", "fs.data.RemoveAll"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("calls %q", names)
	}
	files := map[string]any{"doc": "conformance/upload/a.txt", "raw": "conformance/upload/b.bin"}
	if want := []any{"http://127.0.0.1:8080/upload", fields, files}; !reflect.DeepEqual(post, want) {
		t.Fatalf("http.Post args %#v", post)
	}
	if _, err := os.Stat(filepath.Join(h.data, "conformance/upload")); !os.IsNotExist(err) {
		t.Fatalf("the upload folder is left: %v", err)
	}
	if _, err := HttpUpload([]any{1}); err == nil {
		t.Fatal("a base that is not a string is a 400")
	}
}
