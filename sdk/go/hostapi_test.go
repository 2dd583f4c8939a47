//go:build !wasip1

package yao

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// recorder is a test host that records every call (name and decoded args)
// and answers from a table: an error, or a value (nil when the name is not
// in it).
type recorder struct {
	calls   [][]any
	answers map[string]any
}

func (r *recorder) Process(name string, args []any) (any, error) {
	r.calls = append(r.calls, []any{name, args})
	answer := r.answers[name]
	if err, ok := answer.(error); ok {
		return nil, err
	}
	return answer, nil
}

func (r *recorder) Log(Level, string) {}

// record installs a recorder answering answers for the rest of the test.
func record(t *testing.T, answers map[string]any) *recorder {
	t.Helper()
	r := &recorder{answers: answers}
	SetTestHost(r)
	t.Cleanup(func() { SetTestHost(nil) })
	return r
}

// hostCall is one expected host call.
func hostCall(name string, args ...any) []any {
	if args == nil {
		args = []any{}
	}
	return []any{name, args}
}

func (r *recorder) expect(t *testing.T, want ...[]any) {
	t.Helper()
	if !reflect.DeepEqual(r.calls, want) {
		t.Fatalf("host calls:\n got %#v\nwant %#v", r.calls, want)
	}
	r.calls = nil
}

func codeOf(t *testing.T, err error) (int, string) {
	t.Helper()
	var ye *Error
	if !errors.As(err, &ye) {
		t.Fatalf("want an *Error, got %#v", err)
	}
	return ye.Code, ye.Message
}

func TestStoreArguments(t *testing.T) {
	user := map[string]any{"name": "Ada", "tags": []any{int64(1), 2.5}, "raw": []byte{0, 1, 2, 255}}
	r := record(t, map[string]any{
		"stores.s.Get":    user,
		"stores.s.Has":    true,
		"stores.s.Keys":   []string{"fresh", "user"},
		"stores.s.Len":    2,
		"stores.s.GetSet": "other",
		"stores.s.GetDel": user,
	})
	s := Store("s")
	if s.Name() != "s" {
		t.Fatal(s.Name())
	}

	// Whole seconds: the store_set fast path (a process store gets [key,
	// value, seconds], 0 for no expiry).
	if err := s.Set("user", user, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("user", user, 0); err != nil {
		t.Fatal(err)
	}
	// A fraction of a second: Set with float seconds.
	if err := s.Set("user", "v", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.expect(t,
		hostCall("stores.s.Set", "user", user, int64(60)),
		hostCall("stores.s.Set", "user", user, int64(0)),
		hostCall("stores.s.Set", "user", "v", 1.5),
	)
	if code, _ := codeOf(t, s.Set("user", "v", -time.Second)); code != 400 {
		t.Fatalf("negative ttl: %d", code)
	}
	if code, _ := codeOf(t, s.Set("user", make(chan int), 0)); code != 400 {
		t.Fatalf("unencodable value: %d", code)
	}
	r.expect(t) // neither reached the host

	got, err := s.Get("user")
	if err != nil || !reflect.DeepEqual(got, user) {
		t.Fatalf("Get: %#v %v", got, err)
	}
	if has, err := s.Has("user"); err != nil || !has {
		t.Fatalf("Has: %v %v", has, err)
	}
	if v, err := s.GetSet("user", "other", 0); err != nil || v != "other" {
		t.Fatalf("GetSet: %#v %v", v, err)
	}
	if _, err := s.GetSet("user", "other", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSet("user", "other", 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.Keys(); err != nil || !reflect.DeepEqual(keys, []string{"fresh", "user"}) {
		t.Fatalf("Keys: %#v %v", keys, err)
	}
	if n, err := s.Len(); err != nil || n != 2 {
		t.Fatalf("Len: %v %v", n, err)
	}
	if v, err := s.GetDel("user"); err != nil || !reflect.DeepEqual(v, user) {
		t.Fatalf("GetDel: %#v %v", v, err)
	}
	if err := s.Del("fresh"); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Call("Touch", "user", 1); err != nil || v != nil {
		t.Fatalf("Call: %#v %v", v, err)
	}
	r.expect(t,
		hostCall("stores.s.Get", "user"),
		hostCall("stores.s.Has", "user"),
		hostCall("stores.s.GetSet", "user", "other"), // ttl 0 is left out
		hostCall("stores.s.GetSet", "user", "other", int64(2)),
		hostCall("stores.s.GetSet", "user", "other", 0.25),
		hostCall("stores.s.Keys"),
		hostCall("stores.s.Len"),
		hostCall("stores.s.GetDel", "user"),
		hostCall("stores.s.Del", "fresh"),
		hostCall("stores.s.Clear"),
		hostCall("stores.s.Touch", "user", int64(1)),
	)
}

func TestStoreResultsAndErrors(t *testing.T) {
	record(t, map[string]any{
		"stores.s.Get":  nil,
		"stores.s.Set":  NewError(502, "redis: connection refused"),
		"stores.s.Del":  NewError(418, "teapot"),
		"stores.s.Keys": "not a list",
		"stores.s.Has":  errors.New("plain"),
	})
	s := Store("s")
	if v, err := s.Get("missing"); v != nil || err != nil {
		t.Fatalf("absent key: %#v %v", v, err)
	}
	if code, msg := codeOf(t, s.Set("k", 1, time.Second)); code != 502 || msg != "redis: connection refused" {
		t.Fatalf("Set error: %d %q", code, msg)
	}
	if code, msg := codeOf(t, s.Del("k")); code != 418 || msg != "teapot" {
		t.Fatalf("Del error: %d %q", code, msg)
	}
	_, err := s.Keys()
	if code, msg := codeOf(t, err); code != 500 || !strings.HasPrefix(msg, "stores.s.Keys: cannot decode the result into []string") {
		t.Fatalf("Keys of the wrong type: %d %q", code, msg)
	}
	_, err = s.Has("k")
	if code, msg := codeOf(t, err); code != 500 || msg != "plain" {
		t.Fatalf("plain error: %d %q", code, msg)
	}
}

func TestStoreListsAndIncrArguments(t *testing.T) {
	r := record(t, map[string]any{
		"stores.s.Pop":        "last",
		"stores.s.ArrayLen":   3,
		"stores.s.ArrayGet":   map[string]any{"n": 1},
		"stores.s.ArraySlice": []any{2, 3},
		"stores.s.ArrayPage":  []any{int8(4)},
		"stores.s.ArrayAll":   []any{},
		"stores.s.Incr":       5,
	})
	s := Store("s")
	for _, err := range []error{
		s.Push("l", "a", 1),
		s.AddToSet("l", 4, 4),
		s.Pull("l", 1),
		s.PullAll("l", []any{1, 2}),
		s.PullAll("l", "a", "b"),
		s.PullAll("l"),
		s.ArraySet("l", 0, "first"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Pop("l", 1); err != nil || v != "last" {
		t.Fatalf("Pop: %#v %v", v, err)
	}
	if n, err := s.ArrayLen("l"); err != nil || n != 3 {
		t.Fatalf("ArrayLen: %v %v", n, err)
	}
	if v, err := s.ArrayGet("l", 1); err != nil || !reflect.DeepEqual(v, map[string]any{"n": int64(1)}) {
		t.Fatalf("ArrayGet: %#v %v", v, err)
	}
	if v, err := s.ArraySlice("l", 1, 2); err != nil || !reflect.DeepEqual(v, []any{int64(2), int64(3)}) {
		t.Fatalf("ArraySlice: %#v %v", v, err)
	}
	if v, err := s.ArrayPage("l", 2, 2); err != nil || !reflect.DeepEqual(v, []any{int64(4)}) {
		t.Fatalf("ArrayPage (elements normalized to int64): %#v %v", v, err)
	}
	if v, err := s.ArrayAll("absent"); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("ArrayAll of an absent key: %#v %v", v, err)
	}
	if n, err := s.Incr("n", 4); err != nil || n != 5 {
		t.Fatalf("Incr: %v %v", n, err)
	}
	if n, err := s.IncrFloat("n", 0.5); err != nil || n != 5.0 {
		t.Fatalf("IncrFloat of an integer answer: %v %v", n, err)
	}
	r.expect(t,
		hostCall("stores.s.Push", "l", "a", int64(1)),
		hostCall("stores.s.AddToSet", "l", int64(4), int64(4)),
		hostCall("stores.s.Pull", "l", int64(1)),
		// Always [key, [values]]: one value that is an array stays one value.
		hostCall("stores.s.PullAll", "l", []any{[]any{int64(1), int64(2)}}),
		hostCall("stores.s.PullAll", "l", []any{"a", "b"}),
		hostCall("stores.s.PullAll", "l", []any{}),
		hostCall("stores.s.ArraySet", "l", int64(0), "first"),
		hostCall("stores.s.Pop", "l", int64(1)),
		hostCall("stores.s.ArrayLen", "l"),
		hostCall("stores.s.ArrayGet", "l", int64(1)),
		hostCall("stores.s.ArraySlice", "l", int64(1), int64(2)),
		hostCall("stores.s.ArrayPage", "l", int64(2), int64(2)),
		hostCall("stores.s.ArrayAll", "absent"),
		hostCall("stores.s.Incr", "n", int64(4)),
		hostCall("stores.s.Incr", "n", 0.5),
	)
}

func TestStoreListsAndIncrErrors(t *testing.T) {
	record(t, map[string]any{
		"stores.s.Pop":      NewError(404, "store s: Pop on an empty list"),
		"stores.s.ArrayGet": NewError(400, "store s: negative index -1"),
		"stores.s.ArraySet": NewError(404, "store s: index 9 past the end"),
		"stores.s.Push":     NewError(413, "store s: over max_bytes"),
		"stores.s.ArrayAll": "not a list",
		"stores.s.Incr":     2.5,
	})
	s := Store("s")
	_, err := s.Pop("empty", 1)
	if code, msg := codeOf(t, err); code != 404 || msg != "store s: Pop on an empty list" {
		t.Fatalf("Pop: %d %q", code, msg)
	}
	_, err = s.ArrayGet("l", -1)
	if code, _ := codeOf(t, err); code != 400 {
		t.Fatalf("ArrayGet: %d", code)
	}
	if code, _ := codeOf(t, s.ArraySet("l", 9, 1)); code != 404 {
		t.Fatalf("ArraySet: %d", code)
	}
	if code, _ := codeOf(t, s.Push("l", 1)); code != 413 {
		t.Fatalf("Push: %d", code)
	}
	_, err = s.ArrayAll("l")
	if code, msg := codeOf(t, err); code != 500 || !strings.HasPrefix(msg, "stores.s.ArrayAll: the result not a list is not a list") {
		t.Fatalf("ArrayAll of a non-list answer: %d %q", code, msg)
	}
	_, err = s.Incr("f", 1)
	if code, msg := codeOf(t, err); code != 500 || !strings.Contains(msg, "use IncrFloat") {
		t.Fatalf("Incr of a float: %d %q", code, msg)
	}
	if f, err := s.IncrFloat("f", 1); err != nil || f != 2.5 {
		t.Fatalf("IncrFloat: %v %v", f, err)
	}
}

func TestStoreWithoutHost(t *testing.T) {
	SetTestHost(nil)
	_, err := Store("s").Get("k")
	if code, msg := codeOf(t, err); code != 500 || !strings.Contains(msg, "stores.s.Get: not running inside yaowasm") {
		t.Fatalf("%d %q", code, msg)
	}
}

func TestFSArguments(t *testing.T) {
	r := record(t, map[string]any{
		"fs.data.ReadFile":        "héllo!",
		"fs.data.ReadFileBuffer":  []byte{0, 1, 2},
		"fs.data.WriteFile":       6,
		"fs.data.WriteFileBuffer": 3,
		"fs.data.AppendFile":      1,
		"fs.data.Exists":          true,
		"fs.data.IsDir":           true,
		"fs.data.IsFile":          false,
		"fs.data.ReadDir":         []any{"d/a.txt", "d/sub"},
		"fs.data.Size":            int64(1) << 40,
	})
	data := FS("data")
	if data.Name() != "data" {
		t.Fatal(data.Name())
	}
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %#v (%v), want %#v", what, got, err, want)
		}
	}
	text, err := data.ReadFile("d/a.txt")
	check("ReadFile", text, "héllo!", err)
	buf, err := data.ReadFileBuffer("d/raw.bin")
	check("ReadFileBuffer", buf, []byte{0, 1, 2}, err)
	n, err := data.WriteFile("d/a.txt", "héllo")
	check("WriteFile", n, 6, err)
	n, err = data.WriteFileBuffer("d/raw.bin", []byte{0, 1, 2})
	check("WriteFileBuffer", n, 3, err)
	n, err = data.AppendFile("d/a.txt", []byte("!"))
	check("AppendFile", n, 1, err)
	_, err = data.AppendFile("d/a.txt", nil)
	check("AppendFile nil", nil, nil, err)
	yes, err := data.Exists("d")
	check("Exists", yes, true, err)
	yes, err = data.IsDir("d")
	check("IsDir", yes, true, err)
	yes, err = data.IsFile("d")
	check("IsFile", yes, false, err)
	list, err := data.ReadDir("d", true)
	check("ReadDir", list, []string{"d/a.txt", "d/sub"}, err)
	size, err := data.Size("d/a.txt")
	check("Size", size, int64(1)<<40, err)
	check("Mkdir", nil, nil, data.Mkdir("d/sub"))
	check("MkdirAll", nil, nil, data.MkdirAll("d/sub/x"))
	check("Remove", nil, nil, data.Remove("d/a.txt"))
	check("RemoveAll", nil, nil, data.RemoveAll("d"))
	check("Move", nil, nil, data.Move("a", "b"))
	check("Copy", nil, nil, data.Copy("b", "c"))
	v, err := data.Call("WriteFile", "run.sh", "#!/bin/sh", 0o755)
	check("Call", v, int64(6), err)
	r.expect(t,
		hostCall("fs.data.ReadFile", "d/a.txt"),
		hostCall("fs.data.ReadFileBuffer", "d/raw.bin"),
		hostCall("fs.data.WriteFile", "d/a.txt", "héllo"),
		hostCall("fs.data.WriteFileBuffer", "d/raw.bin", []byte{0, 1, 2}),
		hostCall("fs.data.AppendFile", "d/a.txt", []byte("!")),
		hostCall("fs.data.AppendFile", "d/a.txt", []byte{}), // nil is still bytes
		hostCall("fs.data.Exists", "d"),
		hostCall("fs.data.IsDir", "d"),
		hostCall("fs.data.IsFile", "d"),
		hostCall("fs.data.ReadDir", "d", true),
		hostCall("fs.data.Size", "d/a.txt"),
		hostCall("fs.data.Mkdir", "d/sub"),
		hostCall("fs.data.MkdirAll", "d/sub/x"),
		hostCall("fs.data.Remove", "d/a.txt"),
		hostCall("fs.data.RemoveAll", "d"),
		hostCall("fs.data.Move", "a", "b"),
		hostCall("fs.data.Copy", "b", "c"),
		hostCall("fs.data.WriteFile", "run.sh", "#!/bin/sh", int64(0o755)),
	)
}

func TestFSErrors(t *testing.T) {
	record(t, map[string]any{
		"fs.data.ReadFile":       NewError(403, `fs: "../x" has a '..' component`),
		"fs.data.ReadFileBuffer": "text, not bytes",
		"fs.data.Mkdir":          NewError(409, "fs: d exists"),
		"fs.data.Size":           "seven",
	})
	data := FS("data")
	_, err := data.ReadFile("../x")
	if code, msg := codeOf(t, err); code != 403 || msg != `fs: "../x" has a '..' component` {
		t.Fatalf("ReadFile: %d %q", code, msg)
	}
	_, err = data.ReadFileBuffer("a")
	if code, msg := codeOf(t, err); code != 500 || msg != "fs.data.ReadFileBuffer returned string instead of bytes" {
		t.Fatalf("ReadFileBuffer: %d %q", code, msg)
	}
	if code, _ := codeOf(t, data.Mkdir("d")); code != 409 {
		t.Fatalf("Mkdir: %d", code)
	}
	if _, err = data.Size("a"); err == nil {
		t.Fatal("a string is not a size")
	}
}

func TestHTTPArguments(t *testing.T) {
	answer := map[string]any{
		"status":  201,
		"headers": map[string]any{"content-type": []any{"application/json"}, "set-cookie": []any{"a=1", "b=2"}},
		"data":    map[string]any{"ok": true, "n": []any{1, 2.5}},
	}
	r := record(t, map[string]any{
		"http.Get": answer, "http.Post": answer, "http.Put": answer, "http.Patch": answer,
		"http.Delete": answer, "http.Head": answer, "http.Send": answer,
	})
	const url = "http://127.0.0.1:8080/x"
	payload := map[string]any{"a": []any{int64(1), int64(2)}}
	requests := []func() (*Response, error){
		func() (*Response, error) { return HTTP.Get(url) },
		func() (*Response, error) {
			return HTTP.Get(url, WithQuery("page", "2"), WithHeader("X-A", "1"), WithHeader("X-A", "2"), WithTimeout(1500*time.Millisecond))
		},
		func() (*Response, error) { return HTTP.Get(url, WithTimeout(time.Nanosecond)) },
		func() (*Response, error) { return HTTP.Post(url, payload) },
		func() (*Response, error) { return HTTP.Post(url, nil, WithHeader("X-Token", "t")) },
		func() (*Response, error) {
			return HTTP.Post(url, map[string]any{"user": "ada"}, WithFile("doc", "up/a.txt"), WithFile("raw", "up/b.bin"),
				WithFile("doc", "up/c.txt"))
		},
		func() (*Response, error) {
			return HTTP.Post(url, nil, WithFile("doc", "a.txt"), WithTimeout(time.Second))
		},
		func() (*Response, error) { return HTTP.Put(url, "text") },
		func() (*Response, error) { return HTTP.Patch(url, []byte{1}, WithQuery("q", "a"), WithQuery("q", "b")) },
		func() (*Response, error) { return HTTP.Delete(url) },
		func() (*Response, error) { return HTTP.Head(url, WithTimeout(2*time.Second)) },
		func() (*Response, error) { return HTTP.Send("options", url, nil, nil, WithTimeout(time.Second)) },
	}
	for i, request := range requests {
		resp, err := request()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.Status != 201 || resp.Header("Content-Type") != "application/json" || resp.Header("x-none") != "" ||
			!reflect.DeepEqual(resp.Headers["set-cookie"], []string{"a=1", "b=2"}) ||
			!reflect.DeepEqual(resp.Data, map[string]any{"ok": true, "n": []any{int64(1), 2.5}}) {
			t.Fatalf("request %d: %#v", i, resp)
		}
	}
	r.expect(t,
		hostCall("http.Get", url),
		hostCall("http.Get", url, map[string]any{"page": "2"}, map[string]any{"X-A": []any{"1", "2"}}, int64(1500)),
		hostCall("http.Get", url, nil, nil, int64(1)),
		hostCall("http.Post", url, payload),
		hostCall("http.Post", url, nil, nil, nil, map[string]any{"X-Token": "t"}),
		hostCall("http.Post", url, map[string]any{"user": "ada"}, map[string]any{"doc": "up/c.txt", "raw": "up/b.bin"}),
		hostCall("http.Post", url, nil, map[string]any{"doc": "a.txt"}, nil, nil, int64(1000)),
		hostCall("http.Put", url, "text"),
		hostCall("http.Patch", url, []byte{1}, map[string]any{"q": []any{"a", "b"}}),
		hostCall("http.Delete", url),
		hostCall("http.Head", url, nil, nil, nil, int64(2000)),
		hostCall("http.Send", "options", url, nil, nil, nil, int64(1000)),
	)
}

func TestHTTPErrors(t *testing.T) {
	record(t, map[string]any{
		"http.Get":  NewError(403, "http: 127.0.0.1:1 is not in http_allow"),
		"http.Post": "not a response",
		"http.Put":  map[string]any{"status": "200"},
		"http.Head": map[string]any{"status": 204},
	})
	_, err := HTTP.Get("http://127.0.0.1:1/x")
	if code, msg := codeOf(t, err); code != 403 || msg != "http: 127.0.0.1:1 is not in http_allow" {
		t.Fatalf("Get: %d %q", code, msg)
	}
	_, err = HTTP.Post("http://h/", 1)
	if code, msg := codeOf(t, err); code != 500 || msg != "http.Post returned string instead of a response map" {
		t.Fatalf("Post: %d %q", code, msg)
	}
	_, err = HTTP.Put("http://h/", 1)
	if code, _ := codeOf(t, err); code != 500 {
		t.Fatalf("Put: %d", code)
	}
	resp, err := HTTP.Head("http://h/")
	if err != nil || resp.Status != 204 || len(resp.Headers) != 0 || resp.Data != nil || resp.Header("content-type") != "" {
		t.Fatalf("Head: %#v %v", resp, err)
	}
	_, err = HTTP.Post("http://h/", make(chan int))
	if code, _ := codeOf(t, err); code != 400 {
		t.Fatalf("unencodable payload: %d", code)
	}
}

func TestHTTPFilesGoWithPostOnly(t *testing.T) {
	r := record(t, map[string]any{"http.Put": map[string]any{"status": 200}, "http.Send": map[string]any{"status": 200}})
	file := WithFile("doc", "a.txt")
	_, err := HTTP.Put("http://h/", nil, file)
	if code, msg := codeOf(t, err); code != 400 || msg != "http.Put: WithFile uploads go with Post only (Yao's http.Post)" {
		t.Fatalf("Put: %d %q", code, msg)
	}
	for name, request := range map[string]func() (*Response, error){
		"Get":    func() (*Response, error) { return HTTP.Get("http://h/", file) },
		"Patch":  func() (*Response, error) { return HTTP.Patch("http://h/", nil, file) },
		"Delete": func() (*Response, error) { return HTTP.Delete("http://h/", file) },
		"Head":   func() (*Response, error) { return HTTP.Head("http://h/", file) },
		"Send":   func() (*Response, error) { return HTTP.Send("POST", "http://h/", nil, file) },
	} {
		if _, err := request(); err == nil {
			t.Fatalf("%s took a file", name)
		} else if code, _ := codeOf(t, err); code != 400 {
			t.Fatalf("%s: %d", name, code)
		}
	}
	r.expect(t) // none of them reached the host
}

func TestQuery(t *testing.T) {
	r := record(t, map[string]any{"query.Run": []any{map[string]any{"id": 1}}})
	dsl := map[string]any{"select": []any{"id"}, "from": "user"}
	rows, err := Query(dsl)
	if err != nil || !reflect.DeepEqual(rows, []any{map[string]any{"id": int64(1)}}) {
		t.Fatalf("Query: %#v %v", rows, err)
	}
	type row struct {
		ID int `json:"id"`
	}
	typed, err := QueryAs[[]row](dsl, map[string]any{"id": 1})
	if err != nil || !reflect.DeepEqual(typed, []row{{ID: 1}}) {
		t.Fatalf("QueryAs: %#v %v", typed, err)
	}
	r.expect(t,
		hostCall("query.Run", dsl),
		hostCall("query.Run", dsl, map[string]any{"id": int64(1)}),
	)

	record(t, map[string]any{"query.Run": NewError(404, "no such process: query.Run")})
	if _, err := Query(dsl); err == nil {
		t.Fatal("want the host's 404")
	} else if code, _ := codeOf(t, err); code != 404 {
		t.Fatalf("Query error: %d", code)
	}
}

func TestQueryEngineSendsEngineAndMethodLeavingOutDefaults(t *testing.T) {
	dsl := map[string]any{"from": "user"}
	bound := map[string]any{"id": int64(7)}
	rows := record(t, map[string]any{"query.Run": []any{map[string]any{"id": 1}}})
	if got, err := NewQuery("").Get(dsl, nil); err != nil || len(got) != 1 {
		t.Fatalf("Get: %#v %v", got, err)
	}
	if got, err := NewQuery("stats").Run(dsl, bound); err != nil || got == nil {
		t.Fatalf("Run: %#v %v", got, err)
	}
	if _, err := NewQuery("default").Run(dsl, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows.expect(t,
		hostCall("query.Run", dsl, nil, nil, "Get"),
		hostCall("query.Run", dsl, bound, "stats"),
		hostCall("query.Run", dsl),
	)
	one := record(t, map[string]any{"query.Run": map[string]any{"id": 1}})
	if got, err := NewQuery("").First(dsl, bound); err != nil || fmt.Sprint(got["id"]) != "1" {
		t.Fatalf("First: %#v %v", got, err)
	}
	if _, err := NewQuery("stats").Paginate(dsl, nil); err != nil {
		t.Fatalf("Paginate: %v", err)
	}
	one.expect(t,
		hostCall("query.Run", dsl, bound, nil, "First"),
		hostCall("query.Run", dsl, nil, "stats", "Paginate"),
	)
	if _, err := NewQuery("").First(dsl, nil); err != nil {
		t.Fatalf("a nil row: %v", err)
	}
}

func TestCurrentContext(t *testing.T) {
	r := record(t, map[string]any{"yao.context": map[string]any{
		"sid": "SID-42", "global": map[string]any{"tenant": "t1"}, "authorized": map[string]any{"user_id": 7},
	}})
	ctx, err := CurrentContext()
	if err != nil {
		t.Fatal(err)
	}
	want := CallContext{Sid: "SID-42", Global: map[string]any{"tenant": "t1"}, Authorized: map[string]any{"user_id": int64(7)}}
	if !reflect.DeepEqual(ctx, want) {
		t.Fatalf("got %#v, want %#v", ctx, want)
	}
	r.expect(t, hostCall("yao.context"))
	// The empty context as the runtime sends it: authorized nil, global {}.
	r.answers["yao.context"] = map[string]any{"sid": "", "global": map[string]any{}, "authorized": nil}
	ctx, err = CurrentContext()
	if err != nil || ctx.Sid != "" || ctx.Global == nil || len(ctx.Global) != 0 || ctx.Authorized != nil {
		t.Fatalf("empty context: %#v, %v", ctx, err)
	}
	r.answers["yao.context"] = NewError(500, "boom")
	if _, err := CurrentContext(); err == nil {
		t.Fatal("an error answer must come back as an error")
	}
}

func TestTasks(t *testing.T) {
	r := record(t, map[string]any{
		"tasks.All":     []any{map[string]any{"data": 1, "index": 0}, map[string]any{"data": nil, "index": 1, "error": "boom", "code": 409}},
		"tasks.Job":     7,
		"tasks.Running": false,
		"tasks.Data":    "done",
	})
	results, err := All(NewTask("scripts.a.Slow", 10, "x"), NewTask("models.user.Find").WithTimeout(0.5))
	want := []TaskResult{{Data: int64(1), Index: 0}, {Index: 1, Error: "boom", Code: 409}}
	if err != nil || !reflect.DeepEqual(results, want) {
		t.Fatalf("All: %#v %v", results, err)
	}
	if results, err := Race(); err != nil || len(results) != 0 {
		t.Fatalf("no tasks: %#v %v (and no host call)", results, err)
	}
	job, err := StartJob("scripts.report.Build", 42)
	if err != nil || job.ID != 7 {
		t.Fatalf("StartJob: %#v %v", job, err)
	}
	if running, err := job.Running(10); err != nil || running {
		t.Fatalf("Running: %v %v", running, err)
	}
	if data, err := job.Data(); err != nil || data != "done" {
		t.Fatalf("Data: %#v %v", data, err)
	}
	if err := job.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := After(20, "scripts.a.Mark"); err != nil {
		t.Fatal(err)
	}
	if err := Sleep(15); err != nil {
		t.Fatal(err)
	}
	r.expect(t,
		hostCall("tasks.All", []any{
			map[string]any{"process": "scripts.a.Slow", "args": []any{int64(10), "x"}},
			map[string]any{"process": "models.user.Find", "args": []any{}, "timeout": 0.5},
		}),
		hostCall("tasks.Job", "scripts.report.Build", []any{int64(42)}),
		hostCall("tasks.Running", int64(7), int64(10)),
		hostCall("tasks.Data", int64(7)),
		hostCall("tasks.Cancel", int64(7)),
		hostCall("tasks.After", int64(20), "scripts.a.Mark", []any{}),
		hostCall("tasks.Sleep", int64(15)),
	)
	// The deadline's 408 comes back as the error, code kept.
	record(t, map[string]any{"tasks.Sleep": NewError(408, "timeout")})
	if code, _ := codeOf(t, Sleep(5000)); code != 408 {
		t.Fatalf("Sleep past the deadline: %d", code)
	}
}
