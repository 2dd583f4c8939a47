package yao

import (
	"errors"
	"fmt"
)

// Error is a Yao exception: an HTTP-like code (400 bad input, 403
// forbidden, 404 not found, 500 internal, ...) and a message. A script
// function that returns one makes its caller's exec fail with that code;
// [Process] returns one when the called process fails.
type Error struct {
	Code    int    `msgpack:"code"`
	Message string `msgpack:"message"`
}

// NewError returns an *Error with the given code and message.
func NewError(code int, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Errorf returns an *Error whose message is formatted as fmt.Sprintf does.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// asYaoError turns any error into the error value sent to the host: an
// *Error anywhere in the chain keeps its code, anything else is a 500.
func asYaoError(err error) *Error {
	var ye *Error
	if errors.As(err, &ye) && ye != nil {
		return ye
	}
	return &Error{Code: 500, Message: err.Error()}
}
