//go:build !wasip1

package yao_test

import (
	"errors"
	"fmt"
	"time"

	yao "github.com/yaoapp/yaowasm/sdk/go"
)

// A script function is an ordinary Go function; the one-line export around
// it is all the wasm glue a script needs:
//
//	//go:wasmexport Add
//	func add(p, n uint32) uint64 { return yao.Handle(p, n, Add) }
func Example() {
	add := func(args []any) (any, error) {
		a, okA := args[0].(int64)
		b, okB := args[1].(int64)
		if !okA || !okB {
			return nil, yao.NewError(400, "Add expects two integers")
		}
		return a + b, nil
	}
	fmt.Println(add([]any{int64(40), int64(2)}))
	fmt.Println(add([]any{int64(40), "two"}))
	// Output:
	// 42 <nil>
	// <nil> 400 Add expects two integers
}

type users struct{}

func (users) Process(name string, args []any) (any, error) {
	if name == "models.user.Find" && args[0] == int64(1) {
		return map[string]any{"id": 1, "name": "Ada"}, nil
	}
	return nil, yao.NewError(404, "user not found")
}

func (users) Log(level yao.Level, msg string) { fmt.Println(level, msg) }

// Process calls a Yao process; a failure is an *Error with the process's
// code. (Outside wasm, SetTestHost stands in for yaowasm, as here.)
func ExampleProcess() {
	yao.SetTestHost(users{})
	defer yao.SetTestHost(nil)

	user, err := yao.Process("models.user.Find", 1)
	fmt.Println(user, err)

	_, err = yao.Process("models.user.Find", 2)
	var e *yao.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// map[id:1 name:Ada] <nil>
	// 404 user not found
}

func ExampleLogger() {
	yao.SetTestHost(users{})
	defer yao.SetTestHost(nil)

	yao.Log.Info("saved user ", 7)
	yao.Log.Warnf("user %d has no email", 7)
	// Output:
	// info saved user 7
	// warn user 7 has no email
}

// A stand-in host for the host API: outside wasm the calls reach Process
// under the name of the Yao process they mirror.
type apiHost map[string]any

func (h apiHost) Process(name string, args []any) (any, error) {
	switch name {
	case "stores.cache.Set":
		h[args[0].(string)] = args[1]
		return nil, nil
	case "stores.cache.Get":
		return h[args[0].(string)], nil
	case "http.Get":
		return map[string]any{"status": 200, "headers": map[string]any{"content-type": []any{"text/plain"}}, "data": "pong"}, nil
	case "http.Post": // [url, payload, files]: answers what it would upload
		return map[string]any{"status": 201, "data": map[string]any{"fields": args[1], "files": args[2]}}, nil
	}
	return nil, yao.NewError(403, name+": refused")
}

func (apiHost) Log(yao.Level, string) {}

func ExampleStore() {
	yao.SetTestHost(apiHost{})
	defer yao.SetTestHost(nil)

	cache := yao.Store("cache")
	if err := cache.Set("user:1", map[string]any{"name": "Ada"}, time.Minute); err != nil {
		fmt.Println(err)
	}
	user, err := cache.Get("user:1")
	fmt.Println(user, err)
	missing, err := cache.Get("user:2")
	fmt.Println(missing, err)
	// Output:
	// map[name:Ada] <nil>
	// <nil> <nil>
}

func ExampleHTTPClient_Get() {
	yao.SetTestHost(apiHost{})
	defer yao.SetTestHost(nil)

	resp, err := yao.HTTP.Get("http://127.0.0.1:8080/ping", yao.WithTimeout(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.Header("Content-Type"), resp.Data)
	// Output:
	// 200 text/plain pong
}

func ExampleWithFile() {
	yao.SetTestHost(apiHost{})
	defer yao.SetTestHost(nil)

	// The file avatars/ada.png under the runtime's fs root "data" goes as the
	// form field "avatar", the payload's entries as text fields.
	resp, err := yao.HTTP.Post("http://127.0.0.1:8080/avatars", map[string]any{"user": "ada"},
		yao.WithFile("avatar", "avatars/ada.png"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.Data)
	// Output:
	// 201 map[fields:map[user:ada] files:map[avatar:avatars/ada.png]]
}

func ExampleFS() {
	yao.SetTestHost(apiHost{})
	defer yao.SetTestHost(nil)

	_, err := yao.FS("data").ReadFile("../secret.txt")
	var e *yao.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// 403 fs.data.ReadFile: refused
}
