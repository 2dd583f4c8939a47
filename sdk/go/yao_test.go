//go:build !wasip1

package yao

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bytes written by other MessagePack encoders (rmp-serde, msgpack-python)
// decode to the SDK's normalized Go types.
func TestUnmarshalNormalizesWireTypes(t *testing.T) {
	cases := []struct {
		wire string
		want any
	}{
		{"c0", nil},
		{"c3", true},
		{"07", int64(7)},
		{"ff", int64(-1)},
		{"cc80", int64(128)},
		{"cd0190", int64(400)},
		{"d0e0", int64(-32)},
		{"ce80000000", int64(1 << 31)},
		{"cf8000000000000000", uint64(1 << 63)},
		{"d3ffffffffffffff85", int64(-123)},
		{"ca3fc00000", float64(1.5)},
		{"cb4004000000000000", 2.5},
		{"a3616263", "abc"},
		{"c4020102", []byte{1, 2}},
		{"9201a178", []any{int64(1), "x"}},
		{"81a16191cc80", map[string]any{"a": []any{int64(128)}}},
		{"90", []any{}},
		{"80", map[string]any{}},
	}
	for _, c := range cases {
		var got any
		if err := Unmarshal(mustHex(t, c.wire), &got); err != nil {
			t.Errorf("%s: %v", c.wire, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.wire, got, c.want)
		}
	}
}

func TestMarshalKeepsIntegersIntegers(t *testing.T) {
	cases := []struct {
		value any
		wire  string
	}{
		{int64(42), "2a"},
		{42, "2a"},
		{int64(-1), "ff"},
		{int64(400), "cd0190"},
		{3.0, "cb4008000000000000"},
		{[]string{}, "90"},
		{map[string]any{"k": nil}, "81a16bc0"},
		{[]byte{9}, "c40109"},
	}
	for _, c := range cases {
		got, err := Marshal(c.value)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != c.wire {
			t.Errorf("%#v: got %x, want %s", c.value, got, c.wire)
		}
	}
}

func TestStructsUseJSONTags(t *testing.T) {
	type verdict struct {
		Valid  bool     `json:"valid"`
		Errors []string `json:"errors"`
	}
	data, err := Marshal(verdict{Valid: true, Errors: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back["valid"] != true || back["errors"] == nil {
		t.Fatalf("got %#v", back)
	}
}

func TestDecodeArgs(t *testing.T) {
	if args, err := decodeArgs(nil); err != nil || len(args) != 0 || args == nil {
		t.Fatalf("empty args: %#v %v", args, err)
	}
	if _, err := decodeArgs(mustHex(t, "a178")); err == nil {
		t.Fatal("a string is not an argument array")
	}
	if _, err := decodeArgs(mustHex(t, "92")); err == nil {
		t.Fatal("truncated array must fail")
	}
}

// decodeResult reads what handle produced, as the host would.
func decodeResult(t *testing.T, o output) (any, *Error) {
	t.Helper()
	data, isError := o.data, o.isError
	if isError {
		return nil, decodeErrorValue(data)
	}
	if len(data) == 0 {
		return nil, nil
	}
	var v any
	if err := Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v, nil
}

func TestHandle(t *testing.T) {
	sum := func(args []any) (any, error) {
		var total int64
		for _, a := range args {
			n, ok := a.(int64)
			if !ok {
				return nil, Errorf(422, "not an integer: %v", a)
			}
			total += n
		}
		return total, nil
	}
	args, _ := Marshal([]any{1, 2, 39})
	if v, e := decodeResult(t, pipe(handle(args, sum))); e != nil || v != int64(42) {
		t.Fatalf("sum: %#v %v", v, e)
	}
	args, _ = Marshal([]any{1, "x"})
	if _, e := decodeResult(t, pipe(handle(args, sum))); e == nil || e.Code != 422 || e.Message != "not an integer: x" {
		t.Fatalf("raised error: %#v", e)
	}
	if _, e := decodeResult(t, pipe(handle(mustHex(t, "a178"), sum))); e == nil || e.Code != 400 {
		t.Fatalf("bad args: %#v", e)
	}
}

// output holds handle's two results so they can be passed on together.
type output struct {
	data    []byte
	isError bool
}

func pipe(data []byte, isError bool) output { return output{data, isError} }

func TestHandleErrorsAndPanics(t *testing.T) {
	plain := func([]any) (any, error) { return nil, errors.New("disk on fire") }
	if _, e := decodeResult(t, pipe(handle(nil, plain))); e == nil || e.Code != 500 || e.Message != "disk on fire" {
		t.Fatalf("plain error: %#v", e)
	}
	wrapped := func([]any) (any, error) { return nil, fmt.Errorf("saving: %w", NewError(409, "conflict")) }
	if _, e := decodeResult(t, pipe(handle(nil, wrapped))); e == nil || e.Code != 409 || e.Message != "conflict" {
		t.Fatalf("wrapped error: %#v", e)
	}
	boom := func(args []any) (any, error) { return args[5], nil }
	if _, e := decodeResult(t, pipe(handle(nil, boom))); e == nil || e.Code != 500 || !bytes.Contains([]byte(e.Message), []byte("panic")) {
		t.Fatalf("panic: %#v", e)
	}
	unencodable := func([]any) (any, error) { return make(chan int), nil }
	if _, e := decodeResult(t, pipe(handle(nil, unencodable))); e == nil || e.Code != 500 {
		t.Fatalf("unencodable: %#v", e)
	}
	nothing := func([]any) (any, error) { return nil, nil }
	if data, isError := handle(nil, nothing); len(data) != 0 || isError {
		t.Fatalf("nil result must be packed as 0, got %x", data)
	}
}

type pair struct {
	_msgpack struct{} `msgpack:",as_array"`
	A, B     int64
}

func TestHandleTyped(t *testing.T) {
	add := func(p pair) (int64, error) { return p.A + p.B, nil }
	args, _ := Marshal([]any{40, 2})
	if v, e := decodeResult(t, pipe(handleTyped(args, add))); e != nil || v != int64(42) {
		t.Fatalf("typed add: %#v %v", v, e)
	}
	args, _ = Marshal([]any{"forty", 2})
	if _, e := decodeResult(t, pipe(handleTyped(args, add))); e == nil || e.Code != 400 {
		t.Fatalf("typed add with a string: %#v", e)
	}
	count := func(names []string) (int, error) { return len(names), nil }
	if v, e := decodeResult(t, pipe(handleTyped(nil, count))); e != nil || v != int64(0) {
		t.Fatalf("no args into a slice: %#v %v", v, e)
	}
}

type fakeHost struct {
	calls [][]any
	logs  []string
}

func (h *fakeHost) Process(name string, args []any) (any, error) {
	h.calls = append(h.calls, append([]any{name}, args...))
	switch name {
	case "models.user.Find":
		return map[string]any{"id": args[0], "name": "Ada", "score": 1.5}, nil
	case "utils.fail":
		return nil, NewError(418, "teapot")
	case "utils.nil":
		return nil, nil
	}
	return nil, NewError(404, "no process "+name)
}

func (h *fakeHost) Log(level Level, msg string) { h.logs = append(h.logs, level.String()+":"+msg) }

func TestProcess(t *testing.T) {
	h := &fakeHost{}
	SetTestHost(h)
	defer SetTestHost(nil)

	user, err := Process("models.user.Find", 7)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": int64(7), "name": "Ada", "score": 1.5}
	if !reflect.DeepEqual(user, want) {
		t.Fatalf("got %#v", user)
	}
	_, err = Process("utils.fail")
	var ye *Error
	if !errors.As(err, &ye) || ye.Code != 418 || ye.Message != "teapot" {
		t.Fatalf("error answer: %#v", err)
	}
	if v, err := Process("utils.nil"); v != nil || err != nil {
		t.Fatalf("nil answer: %#v %v", v, err)
	}
	if len(h.calls[1]) != 1 {
		t.Fatalf("a call without args sends an empty array: %#v", h.calls[1])
	}

	type user2 struct {
		ID    int     `json:"id"`
		Name  string  `json:"name"`
		Score float64 `json:"score"`
	}
	u, err := ProcessAs[user2]("models.user.Find", math.MaxInt32)
	if err != nil || u.ID != math.MaxInt32 || u.Name != "Ada" || u.Score != 1.5 {
		t.Fatalf("typed: %#v %v", u, err)
	}
	if _, err := ProcessAs[int]("models.user.Find", 1); err == nil {
		t.Fatal("a map does not decode into an int")
	}
}

func TestProcessWithoutHost(t *testing.T) {
	SetTestHost(nil)
	_, err := Process("anything")
	var ye *Error
	if !errors.As(err, &ye) || ye.Code != 500 {
		t.Fatalf("got %#v", err)
	}
}

func TestLog(t *testing.T) {
	h := &fakeHost{}
	SetTestHost(h)
	defer SetTestHost(nil)
	Log.Trace("a", 1)
	Log.Debugf("b%d", 2)
	Log.Info("c")
	Log.Warnf("%s", "d")
	Log.Error("e")
	Log.At(LevelInfo, "%not formatted")
	want := []string{"trace:a1", "debug:b2", "info:c", "warn:d", "error:e", "info:%not formatted"}
	if !reflect.DeepEqual(h.logs, want) {
		t.Fatalf("got %q", h.logs)
	}
}

func TestPackedLayout(t *testing.T) {
	ptr, n, isErr := unpack(uint64(0x1234)<<32 | errorBit | 17)
	if ptr != 0x1234 || n != 17 || !isErr {
		t.Fatalf("unpack: %x %d %v", ptr, n, isErr)
	}
}

type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

// The typed handlers without a wrapper struct: what a script author writes
// for one, two or three arguments, and the 400s a caller gets.
func TestHandleOneTwoThreeTypedArguments(t *testing.T) {
	adult := func(args []msgpack.RawMessage) (any, error) {
		var p person
		if err := decodeArg(args, 0, &p); err != nil {
			return nil, err
		}
		return p.Age >= 18, nil
	}
	args, _ := Marshal([]any{map[string]any{"name": "Ada", "age": 36}, "ignored"})
	if v, e := decodeResult(t, pipe(handleN(args, 1, adult))); e != nil || v != true {
		t.Fatalf("one struct argument: %#v %v", v, e)
	}
	args, _ = Marshal([]any{"Ada"})
	if _, e := decodeResult(t, pipe(handleN(args, 1, adult))); e == nil || e.Code != 400 ||
		e.Message != "argument 1: expected yao.person (a map), got a string" {
		t.Fatalf("a string for a struct: %#v", e)
	}
	if v, e := decodeResult(t, pipe(handleN(nil, 1, adult))); e != nil || v != false {
		t.Fatalf("a missing argument is the zero value: %#v %v", v, e)
	}
	if _, e := decodeResult(t, pipe(handleN(mustHex(t, "a178"), 1, adult))); e == nil || e.Code != 400 {
		t.Fatalf("arguments that are not an array: %#v", e)
	}

	scale := func(args []msgpack.RawMessage) (any, error) {
		var name string
		var factor float64
		var tags []string
		for i, target := range []any{&name, &factor, &tags} {
			var err error
			switch p := target.(type) {
			case *string:
				err = decodeArg(args, i, p)
			case *float64:
				err = decodeArg(args, i, p)
			case *[]string:
				err = decodeArg(args, i, p)
			}
			if err != nil {
				return nil, err
			}
		}
		return fmt.Sprintf("%s %.1f %d", name, factor*2, len(tags)), nil
	}
	args, _ = Marshal([]any{"x", 10, []any{"a", "b"}})
	if v, e := decodeResult(t, pipe(handleN(args, 3, scale))); e != nil || v != "x 20.0 2" {
		t.Fatalf("an integer for a float64, a list for []string: %#v %v", v, e)
	}
	args, _ = Marshal([]any{"x", 1.5, "a"})
	if _, e := decodeResult(t, pipe(handleN(args, 3, scale))); e == nil || e.Message != "argument 3: expected []string (an array), got a string" {
		t.Fatalf("third argument: %#v", e)
	}
	args, _ = Marshal([]any{"x", "1.5"})
	if _, e := decodeResult(t, pipe(handleN(args, 3, scale))); e == nil || e.Message != "argument 2: expected float64, got a string" {
		t.Fatalf("second argument: %#v", e)
	}
}
