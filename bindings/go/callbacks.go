package yaowasm

/*
#include "yw.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// The C API calls handlers synchronously on the thread that runs the guest,
// which is the thread whose cgo call started the Exec. yw_exec (callbacks.c)
// keeps a per-thread stack of the Execs running there (yw_frame, on the C
// stack) holding ids into this table of their ctxs, and the process
// trampoline passes the innermost frame: no lookup by thread id, no locked
// OS thread.
var frames struct {
	mu   sync.Mutex
	ctxs []context.Context // by id-1
	free []uintptr
}

func frameAdd(ctx context.Context) uintptr {
	frames.mu.Lock()
	var id uintptr
	if n := len(frames.free); n > 0 {
		id = frames.free[n-1]
		frames.free = frames.free[:n-1]
		frames.ctxs[id-1] = ctx
	} else {
		frames.ctxs = append(frames.ctxs, ctx)
		id = uintptr(len(frames.ctxs))
	}
	frames.mu.Unlock()
	return id
}

func frameDel(id uintptr) {
	frames.mu.Lock()
	frames.ctxs[id-1] = nil
	frames.free = append(frames.free, id)
	frames.mu.Unlock()
}

// currentContext is the ctx of the innermost Exec of top's chain, and the
// error of the first done ctx among all Execs of the chain, outermost first
// (a cancel of the outer call ends the inner ones too). When the innermost
// ctx carries no call context but an outer one does (a handler called Exec
// again with a plain ctx), the call runs with the one the runtime
// inherited: the returned ctx carries it.
func currentContext(top *C.yw_frame) (context.Context, error) {
	if top == nil {
		return context.Background(), nil
	}
	var buf [8]context.Context
	chain := buf[:0] // innermost first
	frames.mu.Lock()
	for f := top; f != nil; f = f.prev {
		chain = append(chain, frames.ctxs[uintptr(f.id)-1])
	}
	frames.mu.Unlock()
	var done error
	for i := len(chain) - 1; i >= 0 && done == nil; i-- {
		done = chain[i].Err()
	}
	inner := chain[0]
	if len(chain) > 1 {
		if _, own := CallContextFrom(inner); !own {
			for _, outer := range chain[1:] {
				if _, ok := CallContextFrom(outer); ok {
					if cc, ok := runtimeCallContext(); ok {
						inner = WithCallContext(inner, cc)
					}
					break
				}
			}
		}
	}
	return inner, done
}

// runtimeCallContext reads the context of the call running on this thread
// (yaowasm_context_current): only inside a process callback.
func runtimeCallContext() (CallContext, bool) {
	var out C.yaowasm_buf
	if C.yaowasm_context_current(&out) != 0 {
		return CallContext{}, false
	}
	value, err := unmarshal(take(out))
	m, ok := value.(map[string]any)
	if err != nil || !ok {
		return CallContext{}, false
	}
	cc := CallContext{}
	cc.Sid, _ = m["sid"].(string)
	cc.Global, _ = m["global"].(map[string]any)
	cc.Authorized, _ = m["authorized"].(map[string]any)
	return cc, true
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
func ywGoProcess(handle C.uintptr_t, top *C.yw_frame, name *C.char, nameLen C.size_t, args *C.uint8_t, argsLen C.size_t, res *C.yaowasm_result) {
	defer func() {
		if p := recover(); p != nil {
			answerError(res, CodeInternal, fmt.Sprintf("process handler panicked: %v", p))
		}
	}()
	fn := cgo.Handle(handle).Value().(ProcessHandler)
	ctx, done := currentContext(top)
	pname := C.GoStringN(name, C.int(nameLen))
	if err := done; err != nil {
		answerError(res, CodeTimeout, fmt.Sprintf("%s: context: %v", pname, err))
		return
	}
	var argv []any
	if argsLen > 0 {
		decoded, err := unmarshal(unsafe.Slice((*byte)(unsafe.Pointer(args)), int(argsLen)))
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
	eb := getExecBuf()
	defer putExecBuf(eb)
	data, err := appendMsgpack(eb.b[:0], value)
	eb.b = data
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
