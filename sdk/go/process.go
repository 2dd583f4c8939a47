package yao

import "fmt"

// Process calls the Yao process name with args (Yao's `args ...any`) and
// returns its result, decoded as described in Unmarshal. When the process
// fails, the error is an *Error carrying its code and message, ready to be
// returned as is to pass the failure on.
//
//	user, err := yao.Process("models.user.Find", id)
func Process(name string, args ...any) (any, error) {
	answer, err := call(name, args)
	return decodeAnswer[any](name, answer, err)
}

// ProcessAs is Process with the result decoded into T.
//
//	user, err := yao.ProcessAs[User]("models.user.Find", id)
func ProcessAs[T any](name string, args ...any) (T, error) {
	answer, err := call(name, args)
	return decodeAnswer[T](name, answer, err)
}

// decodeAnswer decodes the answer of an import into T, or passes err on. A
// result that does not decode is a 500 naming what was called.
func decodeAnswer[T any](what string, answer []byte, err error) (T, error) {
	var result T
	if err != nil {
		return result, err
	}
	if err := Unmarshal(answer, &result); err != nil {
		if _, untyped := any(&result).(*any); untyped {
			return result, Errorf(500, "%s: cannot decode the result: %v", what, err)
		}
		return result, Errorf(500, "%s: cannot decode the result into %T: %v", what, result, err)
	}
	return result, nil
}

func call(name string, args []any) ([]byte, error) {
	return invoke(name, args, func(encoded []byte) ([]byte, bool) { return hostProcess(name, encoded) })
}

// invoke is every import that takes an args array: it encodes args (nil is
// the empty array), hands them to send, and returns the encoded result (the
// encoded nil for a packed 0) or the error value the host answered, as an
// *Error. what names the call in the 400 of arguments that do not encode.
func invoke(what string, args []any, send func(encoded []byte) (answer []byte, isError bool)) ([]byte, error) {
	if args == nil {
		args = []any{}
	}
	encoded, err := Marshal(args)
	if err != nil {
		return nil, Errorf(400, "%s: cannot encode the arguments: %v", what, err)
	}
	return answered(send(encoded))
}

// answered turns what an import answered into the encoded result or the
// *Error it carries.
func answered(answer []byte, isError bool) ([]byte, error) {
	if isError {
		return nil, decodeErrorValue(answer)
	}
	if len(answer) == 0 {
		return []byte{0xc0}, nil // packed 0: nil
	}
	return answer, nil
}

// decodeErrorValue reads the {code, message} map the host sends for a failed
// process; an unreadable one is still an error, a 500.
func decodeErrorValue(data []byte) *Error {
	var v any
	if err := Unmarshal(data, &v); err != nil {
		return Errorf(500, "unreadable error value from the host: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Errorf(500, "error value from the host is not a map: %v", v)
	}
	e := &Error{Code: 500}
	if code, ok := m["code"].(int64); ok {
		e.Code = int(code)
	}
	switch msg := m["message"].(type) {
	case string:
		e.Message = msg
	case nil:
	default:
		e.Message = fmt.Sprint(msg)
	}
	return e
}
