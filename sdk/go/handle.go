package yao

import (
	"math"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// errorBit marks a packed result whose bytes are an error value (SPEC §3).
const errorBit = 1 << 31

func unpack(packed uint64) (ptr, n uint32, isError bool) {
	n = uint32(packed)
	return uint32(packed >> 32), n &^ errorBit, n&errorBit != 0
}

// Func is a script function: it gets the call's arguments (Yao's
// `args ...any`) and returns a value or an error.
type Func func(args []any) (any, error)

// Handle runs fn as the script function behind a //go:wasmexport: it decodes
// the arguments the host wrote at (argsPtr, argsLen), calls fn, and encodes
// its result or error as the packed result the host expects.
//
//	//go:wasmexport Echo
//	func echo(p, n uint32) uint64 { return yao.Handle(p, n, Echo) }
//
// Arguments that are not a MessagePack array are a 400; an error from fn
// keeps its code if it is an *Error and is a 500 otherwise; a panic in fn is
// recovered and becomes a 500.
func Handle(argsPtr, argsLen uint32, fn Func) uint64 {
	return pack(handle(readArgs(argsPtr, argsLen), fn))
}

// HandleTyped is Handle for a function with typed arguments: the whole
// arguments array is decoded into A, and R is encoded as the result. A can be
// a slice (`[]string`), an array (`[2]int64`) or a struct that reads the
// array positionally:
//
//	type AddArgs struct {
//		_msgpack struct{} `msgpack:",as_array"`
//		A, B     int64
//	}
//
//	//go:wasmexport Add
//	func add(p, n uint32) uint64 { return yao.HandleTyped(p, n, Add) }
//
//	func Add(args AddArgs) (int64, error) { return args.A + args.B, nil }
//
// Arguments that do not decode into A are a 400 naming the problem. For one,
// two or three arguments of their own types, Handle1, Handle2 and Handle3
// need no wrapper struct and name the argument that did not decode.
func HandleTyped[A, R any](argsPtr, argsLen uint32, fn func(A) (R, error)) uint64 {
	return pack(handleTyped(readArgs(argsPtr, argsLen), fn))
}

// Handle1 is Handle for a function of one typed argument: the first
// argument is decoded into T (a struct from a map by its `json`/`msgpack`
// tags, a string, a number, a slice...), and R is encoded as the result.
//
//	type User struct{ Name string `json:"name"`; Age int `json:"age"` }
//
//	//go:wasmexport Check
//	func check(p, n uint32) uint64 { return yao.Handle1(p, n, Check) }
//
//	func Check(u User) (bool, error) { return u.Age >= 18, nil }
//
// A missing argument decodes as T's zero value; extra arguments are
// ignored, as a JavaScript function ignores them. An argument that does not
// decode is a 400 that names it and what was expected, e.g.
// `argument 1: expected yao.User (a map), got a string`.
func Handle1[T, R any](argsPtr, argsLen uint32, fn func(T) (R, error)) uint64 {
	return pack(handleN(readArgs(argsPtr, argsLen), 1, func(args []msgpack.RawMessage) (any, error) {
		var a T
		if err := decodeArg(args, 0, &a); err != nil {
			return nil, err
		}
		return fn(a)
	}))
}

// Handle2 is Handle1 for a function of two typed arguments.
func Handle2[T1, T2, R any](argsPtr, argsLen uint32, fn func(T1, T2) (R, error)) uint64 {
	return pack(handleN(readArgs(argsPtr, argsLen), 2, func(args []msgpack.RawMessage) (any, error) {
		var a T1
		var b T2
		if err := decodeArg(args, 0, &a); err != nil {
			return nil, err
		}
		if err := decodeArg(args, 1, &b); err != nil {
			return nil, err
		}
		return fn(a, b)
	}))
}

// Handle3 is Handle1 for a function of three typed arguments.
func Handle3[T1, T2, T3, R any](argsPtr, argsLen uint32, fn func(T1, T2, T3) (R, error)) uint64 {
	return pack(handleN(readArgs(argsPtr, argsLen), 3, func(args []msgpack.RawMessage) (any, error) {
		var a T1
		var b T2
		var c T3
		if err := decodeArg(args, 0, &a); err != nil {
			return nil, err
		}
		if err := decodeArg(args, 1, &b); err != nil {
			return nil, err
		}
		if err := decodeArg(args, 2, &c); err != nil {
			return nil, err
		}
		return fn(a, b, c)
	}))
}

// handleN splits the arguments array into its raw values (at most max of
// them are kept) and runs fn on them.
func handleN(data []byte, max int, fn func([]msgpack.RawMessage) (any, error)) (result []byte, isError bool) {
	var args []msgpack.RawMessage
	if len(data) > 0 {
		if err := msgpack.Unmarshal(data, &args); err != nil {
			return mustMarshalError(NewError(400, "bad arguments: they must be a MessagePack array")), true
		}
	}
	if len(args) > max {
		args = args[:max]
	}
	return run(func() (any, error) { return fn(args) })
}

// decodeArg decodes args[i] into target; a missing argument leaves the zero
// value. The error names the argument, the type expected and the kind sent.
func decodeArg[T any](args []msgpack.RawMessage, i int, target *T) error {
	if i >= len(args) {
		return nil
	}
	if err := Unmarshal(args[i], target); err != nil {
		return Errorf(400, "argument %d: expected %T%s, got %s", i+1, *target, expectedKind(*target), kindOf(args[i]))
	}
	return nil
}

// expectedKind says, for the types whose Go name does not, what a caller
// must send: " (a map)" for a struct or a map, " (an array)" for a slice.
func expectedKind(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return " (a map)"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return " (bytes)"
		}
		return " (an array)"
	}
	return ""
}

// kindOf names the kind of one encoded value, in Yao's words.
func kindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	c := raw[0]
	switch {
	case c == msgpcode.Nil:
		return "null"
	case c == msgpcode.True || c == msgpcode.False:
		return "a boolean"
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64 ||
		c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		return "an integer"
	case c == msgpcode.Float || c == msgpcode.Double:
		return "a number"
	case msgpcode.IsString(c):
		return "a string"
	case msgpcode.IsBin(c):
		return "bytes"
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		return "an array"
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return "a map"
	}
	return "an extension value"
}

// handle is Handle without the guest memory: bytes in, bytes out.
func handle(data []byte, fn Func) (result []byte, isError bool) {
	args, err := decodeArgs(data)
	if err != nil {
		return mustMarshalError(NewError(400, "bad arguments: "+err.Error())), true
	}
	return run(func() (any, error) { return fn(args) })
}

func handleTyped[A, R any](data []byte, fn func(A) (R, error)) (result []byte, isError bool) {
	var args A
	if len(data) == 0 {
		data = []byte{0x90} // no arguments: the empty array
	}
	if err := Unmarshal(data, &args); err != nil {
		return mustMarshalError(Errorf(400, "bad arguments: %v", err)), true
	}
	return run(func() (any, error) { return fn(args) })
}

// run calls fn, turning a panic into a 500, and encodes what it returns.
func run(fn func() (any, error)) (result []byte, isError bool) {
	value, err := func() (value any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = Errorf(500, "panic: %v", r)
			}
		}()
		return fn()
	}()
	if err != nil {
		return mustMarshalError(asYaoError(err)), true
	}
	if value == nil {
		return nil, false // packed 0: nil
	}
	data, err := Marshal(value)
	if err != nil {
		return mustMarshalError(NewError(500, "cannot encode the result: "+err.Error())), true
	}
	if len(data) > math.MaxInt32 {
		return mustMarshalError(Errorf(413, "result of %d bytes is too large", len(data))), true
	}
	return data, false
}

// mustMarshalError encodes an error value. A struct of an int and a string
// always encodes; the fallback only guards against a broken encoder.
func mustMarshalError(e *Error) []byte {
	data, err := Marshal(map[string]any{"code": e.Code, "message": e.Message})
	if err != nil {
		return []byte("\x82\xa4code\xcd\x01\xf4\xa7message\xa0") // {"code": 500, "message": ""}
	}
	return data
}
