package yao

import "math"

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
// Arguments that do not decode into A are a 400 naming the problem.
func HandleTyped[A, R any](argsPtr, argsLen uint32, fn func(A) (R, error)) uint64 {
	return pack(handleTyped(readArgs(argsPtr, argsLen), fn))
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
