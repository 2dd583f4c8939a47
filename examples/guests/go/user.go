// The example app's user script in Go: built to
// examples/app/scripts/go/user.wasm, it serves scripts.go.user.<Fn>.
// The same functions, with the same behaviour, exist in every guest language.
package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	yao "github.com/yaoapp/yaowasm/sdk/go"
)

// A reactor module has no main to run; Go still wants one.
func main() {}

//go:wasmexport Check
func check(p, n uint32) uint64 { return yao.Handle(p, n, Check) }

//go:wasmexport BeforeSave
func beforeSave(p, n uint32) uint64 { return yao.Handle(p, n, BeforeSave) }

//go:wasmexport Deny
func deny(p, n uint32) uint64 { return yao.Handle(p, n, Deny) }

//go:wasmexport Log
func log(p, n uint32) uint64 { return yao.Handle(p, n, Log) }

//go:wasmexport Echo
func echo(p, n uint32) uint64 { return yao.Handle(p, n, Echo) }

//go:wasmexport Add
func add(p, n uint32) uint64 { return yao.Handle(p, n, Add) }

//go:wasmexport Nested
func nested(p, n uint32) uint64 { return yao.Handle(p, n, Nested) }

//go:wasmexport StoreRoundTrip
func storeRoundTrip(p, n uint32) uint64 { return yao.Handle(p, n, StoreRoundTrip) }

//go:wasmexport StoreLists
func storeLists(p, n uint32) uint64 { return yao.Handle(p, n, StoreLists) }

//go:wasmexport FsRoundTrip
func fsRoundTrip(p, n uint32) uint64 { return yao.Handle(p, n, FsRoundTrip) }

//go:wasmexport FsRead
func fsRead(p, n uint32) uint64 { return yao.Handle(p, n, FsRead) }

//go:wasmexport HttpGet
func httpGet(p, n uint32) uint64 { return yao.Handle(p, n, HttpGet) }

//go:wasmexport HttpPost
func httpPost(p, n uint32) uint64 { return yao.Handle(p, n, HttpPost) }

//go:wasmexport HttpMethods
func httpMethods(p, n uint32) uint64 { return yao.Handle(p, n, HttpMethods) }

//go:wasmexport HttpUpload
func httpUpload(p, n uint32) uint64 { return yao.Handle(p, n, HttpUpload) }

//go:wasmexport Query
func query(p, n uint32) uint64 { return yao.Handle(p, n, Query) }

//go:wasmexport Context
func readContext(p, n uint32) uint64 { return yao.Handle(p, n, Context) }

//go:wasmexport Parallel
func parallel(p, n uint32) uint64 { return yao.Handle(p, n, Parallel) }

// payload returns the first argument as a map, or the 400 every function
// that takes a payload answers.
func payload(args []any) (map[string]any, error) {
	if len(args) > 0 {
		if m, ok := args[0].(map[string]any); ok {
			return m, nil
		}
	}
	return nil, yao.NewError(400, "payload must be a map")
}

// Check validates a user payload: {"valid": bool, "errors": [string]}.
func Check(args []any) (any, error) {
	user, err := payload(args)
	if err != nil {
		return nil, err
	}
	errors := []string{}
	if name, ok := user["name"].(string); !ok || name == "" {
		errors = append(errors, "name is required")
	}
	if email, ok := user["email"].(string); !ok || !strings.Contains(email, "@") {
		errors = append(errors, "email is invalid")
	}
	if age, present := user["age"]; present && age != nil {
		if n, ok := age.(int64); !ok || n < 0 || n > 150 {
			errors = append(errors, "age is out of range")
		}
	}
	return map[string]any{"valid": len(errors) == 0, "errors": errors}, nil
}

// BeforeSave loads the stored user and merges the payload over it.
func BeforeSave(args []any) (any, error) {
	user, err := payload(args)
	if err != nil {
		return nil, err
	}
	found, err := yao.Process("models.user.Find", user["id"])
	if err != nil {
		return nil, err // keeps the process's code and message
	}
	merged := map[string]any{}
	if stored, ok := found.(map[string]any); ok {
		for k, v := range stored {
			merged[k] = v
		}
	}
	for k, v := range user {
		merged[k] = v
	}
	return merged, nil
}

// Deny always refuses.
func Deny(args []any) (any, error) {
	return nil, yao.NewError(403, "denied")
}

// Log writes its message once at every level.
func Log(args []any) (any, error) {
	msg := ""
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			msg = s
		} else {
			msg = fmt.Sprint(args[0])
		}
	}
	for _, level := range []yao.Level{yao.LevelTrace, yao.LevelDebug, yao.LevelInfo, yao.LevelWarn, yao.LevelError} {
		yao.Log.At(level, msg)
	}
	return nil, nil
}

// Echo returns its arguments unchanged.
func Echo(args []any) (any, error) {
	return args, nil
}

// Add sums two integers.
func Add(args []any) (any, error) {
	if len(args) == 2 {
		a, okA := args[0].(int64)
		b, okB := args[1].(int64)
		if okA && okB {
			return a + b, nil
		}
	}
	return nil, yao.NewError(400, "Add expects two integers")
}

// Nested runs this script's own Check through the process table.
func Nested(args []any) (any, error) {
	var p any
	if len(args) > 0 {
		p = args[0]
	}
	verdict, err := yao.Process("scripts.go.user.Check", p)
	if err != nil {
		return nil, err
	}
	if m, ok := verdict.(map[string]any); ok {
		if valid, ok := m["valid"].(bool); ok {
			return valid, nil
		}
	}
	return nil, yao.Errorf(500, "scripts.go.user.Check returned %v", verdict)
}

// stringArgs returns the first len(names) arguments as strings, or a 400
// naming the first one that is missing or not a string.
func stringArgs(fn string, args []any, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		var ok bool
		if i < len(args) {
			out[i], ok = args[i].(string)
		}
		if !ok {
			return nil, yao.Errorf(400, "%s: %s must be a string", fn, name)
		}
	}
	return out, nil
}

// arg returns argument i, nil when it is missing.
func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// StoreLists(store, key): the list methods and Incr, in order, on key and
// <key>:n (both removed first and left absent). The first error that is not
// an expected one ends it; past_end and empty_pop are the codes of the two
// expected ones.
func StoreLists(args []any) (any, error) {
	names, err := stringArgs("StoreLists", args, "store", "key")
	if err != nil {
		return nil, err
	}
	s, key := yao.Store(names[0]), names[1]
	counter := key + ":n"
	var failed error
	must := func(err error) {
		if failed == nil {
			failed = err
		}
	}
	code := func(err error) int {
		var e *yao.Error
		if errors.As(err, &e) {
			return e.Code
		}
		return 0
	}
	must(s.Del(key))
	must(s.Del(counter))
	must(s.Push(key, 1, "two"))
	must(s.Push(key, 3))
	must(s.AddToSet(key, "two", 4, 4))
	length, err := s.ArrayLen(key)
	must(err)
	all, err := s.ArrayAll(key)
	must(err)
	page, err := s.ArrayPage(key, 2, 3)
	must(err)
	slice, err := s.ArraySlice(key, 1, 2)
	must(err)
	get, err := s.ArrayGet(key, 1)
	must(err)
	_, err = s.ArrayGet(key, 9)
	pastEnd := code(err)
	must(s.ArraySet(key, 0, "one"))
	last, err := s.Pop(key, 1)
	must(err)
	first, err := s.Pop(key, -1)
	must(err)
	must(s.Pull(key, 3))
	must(s.PullAll(key, "two"))
	rest, err := s.ArrayAll(key)
	must(err)
	lenAfter, err := s.ArrayLen(key)
	must(err)
	_, err = s.Pop(key, 1)
	emptyPop := code(err)
	_, err = s.Incr(counter, 1)
	must(err)
	count, err := s.Incr(counter, 4)
	must(err)
	must(s.Del(counter))
	if failed != nil {
		return nil, failed
	}
	return map[string]any{
		"len": length, "all": all, "page": page, "slice": slice, "get": get, "past_end": pastEnd,
		"last": last, "first": first, "rest": rest, "len_after": lenAfter, "empty_pop": emptyPop, "count": count,
	}, nil
}

// StoreRoundTrip(store, key, value): every Store method, in order, on an
// emptied store. Answers what each step saw.
func StoreRoundTrip(args []any) (any, error) {
	names, err := stringArgs("StoreRoundTrip", args, "store", "key")
	if err != nil {
		return nil, err
	}
	store, key, value := yao.Store(names[0]), names[1], arg(args, 2)
	if err := store.Clear(); err != nil {
		return nil, err
	}
	if err := store.Set(key, value, 60*time.Second); err != nil {
		return nil, err
	}
	get, err := store.Get(key)
	if err != nil {
		return nil, err
	}
	has, err := store.Has(key)
	if err != nil {
		return nil, err
	}
	kept, err := store.GetSet(key, "other", 0)
	if err != nil {
		return nil, err
	}
	fresh, err := store.GetSet("fresh", "new", 0)
	if err != nil {
		return nil, err
	}
	keys, err := store.Keys()
	if err != nil {
		return nil, err
	}
	length, err := store.Len()
	if err != nil {
		return nil, err
	}
	taken, err := store.GetDel(key)
	if err != nil {
		return nil, err
	}
	after, err := store.Get(key)
	if err != nil {
		return nil, err
	}
	if err := store.Del("fresh"); err != nil {
		return nil, err
	}
	hasAfter, err := store.Has("fresh")
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"get": get, "has": has, "kept": kept, "fresh": fresh, "keys": keys, "len": length,
		"taken": taken, "after": after, "has_after": hasAfter,
	}, nil
}

// FsRoundTrip(dir, text): every FS method under the root "data". Answers
// what each step saw.
func FsRoundTrip(args []any) (any, error) {
	names, err := stringArgs("FsRoundTrip", args, "dir", "text")
	if err != nil {
		return nil, err
	}
	data, dir, text := yao.FS("data"), names[0], names[1]
	file := dir + "/note.txt"
	seen := map[string]any{}
	// Each step runs only while the ones before it succeeded.
	steps := []func() error{
		func() error { return data.MkdirAll(dir) },
		func() (err error) { seen["written"], err = data.WriteFile(file, text); return },
		func() (err error) { seen["appended"], err = data.AppendFile(file, []byte("!")); return },
		func() (err error) { seen["read"], err = data.ReadFile(file); return },
		func() (err error) { seen["exists"], err = data.Exists(file); return },
		func() (err error) { seen["is_file"], err = data.IsFile(file); return },
		func() (err error) { seen["is_dir"], err = data.IsDir(dir); return },
		func() (err error) { seen["size"], err = data.Size(file); return },
		func() error { return data.Copy(file, dir+"/copy.txt") },
		func() error { return data.Move(dir+"/copy.txt", dir+"/moved.txt") },
		func() (err error) { seen["list"], err = data.ReadDir(dir, false); return },
		func() error { return data.Remove(dir + "/moved.txt") },
		func() error { return data.Mkdir(dir + "/sub") },
		func() error { _, err := data.WriteFileBuffer(dir+"/sub/raw.bin", []byte{0, 1, 2}); return err },
		func() (err error) { seen["tree"], err = data.ReadDir(dir, true); return },
		func() error { return data.RemoveAll(dir) },
		func() error { exists, err := data.Exists(dir); seen["gone"] = !exists; return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// FsRead(path): the text of a file under "data" (errors pass on).
func FsRead(args []any) (any, error) {
	names, err := stringArgs("FsRead", args, "path")
	if err != nil {
		return nil, err
	}
	return yao.FS("data").ReadFile(names[0])
}

// httpSeen is what HttpGet and HttpPost answer: the status, the
// content-type header (nil when absent) and the body.
func httpSeen(resp *yao.Response, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	var contentType any
	if values := resp.Headers["content-type"]; len(values) > 0 {
		contentType = values[0]
	}
	return map[string]any{"status": resp.Status, "content_type": contentType, "data": resp.Data}, nil
}

// HttpGet(url)
func HttpGet(args []any) (any, error) {
	names, err := stringArgs("HttpGet", args, "url")
	if err != nil {
		return nil, err
	}
	return httpSeen(yao.HTTP.Get(names[0]))
}

// HttpPost(url, payload): a JSON body.
func HttpPost(args []any) (any, error) {
	names, err := stringArgs("HttpPost", args, "url")
	if err != nil {
		return nil, err
	}
	return httpSeen(yao.HTTP.Post(names[0], arg(args, 1)))
}

// HttpMethods(base): Put (JSON), Patch (text), Delete, Head and
// Send("OPTIONS", with a timeout), each with the query q=<step> and the
// header X-Conformance: <step>; for each {status, echo (the X-Echo header,
// nil when absent), data}.
func HttpMethods(args []any) (any, error) {
	names, err := stringArgs("HttpMethods", args, "url")
	if err != nil {
		return nil, err
	}
	base := names[0]
	tag := func(step string) []yao.HTTPOption {
		return []yao.HTTPOption{yao.WithQuery("q", step), yao.WithHeader("X-Conformance", step)}
	}
	out := map[string]any{}
	step := func(name string, resp *yao.Response, err error) error {
		if err != nil {
			return err
		}
		var echo any
		if values := resp.Headers["x-echo"]; len(values) > 0 {
			echo = values[0]
		}
		out[name] = map[string]any{"status": resp.Status, "echo": echo, "data": resp.Data}
		return nil
	}
	resp, err := yao.HTTP.Put(base, map[string]any{"name": "Ada", "tags": []any{1, 2}}, tag("put")...)
	if err = step("put", resp, err); err != nil {
		return nil, err
	}
	resp, err = yao.HTTP.Patch(base, "patch text", tag("patch")...)
	if err = step("patch", resp, err); err != nil {
		return nil, err
	}
	resp, err = yao.HTTP.Delete(base, tag("delete")...)
	if err = step("delete", resp, err); err != nil {
		return nil, err
	}
	resp, err = yao.HTTP.Head(base, tag("head")...)
	if err = step("head", resp, err); err != nil {
		return nil, err
	}
	resp, err = yao.HTTP.Send("OPTIONS", base, nil, append(tag("options"), yao.WithTimeout(5*time.Second))...)
	if err = step("options", resp, err); err != nil {
		return nil, err
	}
	return out, nil
}

// HttpUpload(base): writes conformance/upload/a.txt (text) and b.bin (bytes
// 0 1 2 255) under "data", posts them as the form fields doc and raw with
// the fields {user, n} to <base>/upload (multipart/form-data), removes the
// folder, and answers {status, data}.
func HttpUpload(args []any) (any, error) {
	names, err := stringArgs("HttpUpload", args, "url")
	if err != nil {
		return nil, err
	}
	data, dir := yao.FS("data"), "conformance/upload"
	if err := data.MkdirAll(dir); err != nil {
		return nil, err
	}
	if _, err := data.WriteFile(dir+"/a.txt", "héllo, upload"); err != nil {
		return nil, err
	}
	if _, err := data.WriteFileBuffer(dir+"/b.bin", []byte{0, 1, 2, 255}); err != nil {
		return nil, err
	}
	resp, err := yao.HTTP.Post(names[0]+"/upload", map[string]any{"user": "Ada", "n": 3},
		yao.WithFile("doc", dir+"/a.txt"), yao.WithFile("raw", dir+"/b.bin"))
	if removeErr := data.RemoveAll(dir); removeErr != nil {
		return nil, removeErr
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": resp.Status, "data": resp.Data}, nil
}

// Query(dsl): the rows the host's QueryDSL answers.
func Query(args []any) (any, error) {
	return yao.Query(arg(args, 0))
}

// Context(): the call context, as the SDK reads it.
func Context(args []any) (any, error) {
	ctx, err := yao.CurrentContext()
	if err != nil {
		return nil, err
	}
	var authorized any
	if ctx.Authorized != nil {
		authorized = ctx.Authorized
	}
	return map[string]any{"sid": ctx.Sid, "global": ctx.Global, "authorized": authorized}, nil
}

// Parallel(ms): sleeps ms, then finds users 1 and 2 in parallel; each task's
// outcome as gou's {data, index} / {data, index, error, code}.
func Parallel(args []any) (any, error) {
	ms, ok := arg(args, 0).(int64)
	if !ok {
		return nil, yao.NewError(400, "ms must be an integer")
	}
	if err := yao.Sleep(ms); err != nil {
		return nil, err
	}
	results, err := yao.All(yao.NewTask("models.user.Find", 1), yao.NewTask("models.user.Find", 2))
	if err != nil {
		return nil, err
	}
	out := make([]any, len(results))
	for i, r := range results {
		m := map[string]any{"data": r.Data, "index": r.Index}
		if r.Error != "" {
			m["error"], m["code"] = r.Error, r.Code
		}
		out[i] = m
	}
	return out, nil
}
