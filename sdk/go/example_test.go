//go:build !wasip1

package yao_test

import (
	"errors"
	"fmt"

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
