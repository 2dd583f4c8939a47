// The example app's user script in Go: built to
// examples/app/scripts/go/user.wasm, it serves scripts.go.user.<Fn>.
// The same functions, with the same behaviour, exist in every guest language.
package main

import (
	"fmt"
	"strings"

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
