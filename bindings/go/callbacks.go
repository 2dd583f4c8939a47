package yaowasm

/*
#include "yaowasm.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"sync"
	"syscall"
	"unsafe"
)

// The C API calls handlers synchronously on the thread that runs the guest,
// which is the thread Exec locked its goroutine to. Exec records its ctx
// under that thread's id so the handler can find it; nested Execs stack.
var threadContexts sync.Map // tid -> *ctxStack

// ctxStack is used by one thread at a time, but by different goroutines
// over time; the mutex (never contended) makes that handover visible to the
// race detector.
type ctxStack struct {
	mu    sync.Mutex
	stack []context.Context
}

func pushContext(ctx context.Context) (pop func()) {
	tid := syscall.Gettid()
	v, ok := threadContexts.Load(tid)
	if !ok {
		v, _ = threadContexts.LoadOrStore(tid, new(ctxStack))
	}
	s := v.(*ctxStack)
	s.mu.Lock()
	s.stack = append(s.stack, ctx)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.stack[len(s.stack)-1] = nil
		s.stack = s.stack[:len(s.stack)-1]
		s.mu.Unlock()
	}
}

// currentContext is the ctx of the innermost Exec on this thread, and the
// error of the first done ctx among all Execs of the chain on this thread
// (a cancel of the outer call ends the inner ones too).
func currentContext() (context.Context, error) {
	v, ok := threadContexts.Load(syscall.Gettid())
	if !ok {
		return context.Background(), nil
	}
	s := v.(*ctxStack)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.stack) == 0 {
		return context.Background(), nil
	}
	for _, ctx := range s.stack {
		if err := ctx.Err(); err != nil {
			return s.stack[len(s.stack)-1], err
		}
	}
	return s.stack[len(s.stack)-1], nil
}

func answerError(res *C.yaowasm_result, code int, msg string) {
	if code < 100 || code > 599 {
		code = CodeInternal
	}
	b := []byte(msg)
	var p *C.char
	if len(b) > 0 {
		p = (*C.char)(unsafe.Pointer(&b[0]))
	}
	C.yaowasm_result_error(res, C.int32_t(code), p, C.size_t(len(b)))
}

//export ywGoProcess
func ywGoProcess(handle C.uintptr_t, name *C.char, nameLen C.size_t, args *C.uint8_t, argsLen C.size_t, res *C.yaowasm_result) {
	defer func() {
		if p := recover(); p != nil {
			answerError(res, CodeInternal, fmt.Sprintf("process handler panicked: %v", p))
		}
	}()
	fn := cgo.Handle(handle).Value().(ProcessHandler)
	ctx, done := currentContext()
	pname := C.GoStringN(name, C.int(nameLen))
	if err := done; err != nil {
		answerError(res, CodeTimeout, fmt.Sprintf("%s: context: %v", pname, err))
		return
	}
	var argv []any
	if argsLen > 0 {
		decoded, err := unmarshal(C.GoBytes(unsafe.Pointer(args), C.int(argsLen)))
		if err != nil {
			answerError(res, CodeBadRequest, "args cannot be decoded: "+err.Error())
			return
		}
		list, ok := decoded.([]any)
		if !ok {
			answerError(res, CodeBadRequest, "args are not an array")
			return
		}
		argv = list
	}
	if argv == nil {
		argv = []any{}
	}
	value, err := fn(ctx, pname, argv)
	if err != nil {
		answerError(res, Code(err), message(err))
		return
	}
	data, err := marshal(value)
	if err != nil {
		answerError(res, CodeInternal, "result cannot be encoded: "+err.Error())
		return
	}
	C.yaowasm_result_ok(res, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)))
}

//export ywGoLog
func ywGoLog(handle C.uintptr_t, level C.int32_t, msg *C.char, msgLen C.size_t) {
	defer func() { _ = recover() }() // a panicking log hook must not unwind into C
	fn := cgo.Handle(handle).Value().(LogHandler)
	fn(int(level), C.GoStringN(msg, C.int(msgLen)))
}
