package yaowasm

/*
#include "yaowasm.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// canceler is a cancel flag of the C API with the func that triggers it.
// Flags never triggered are reused (pooled); the pool may drop one at any
// GC, and the cleanup then frees its C flag.
type canceler struct {
	c       *C.yaowasm_cancel
	fired   chan struct{} // closed when trigger has run
	trigger func()
}

var cancelers = sync.Pool{New: func() any {
	k := &canceler{fired: make(chan struct{})}
	// Only a NULL out-param fails, and &k.c never is.
	C.yaowasm_cancel_new(&k.c)
	c := k.c
	k.trigger = func() {
		C.yaowasm_cancel_trigger(c)
		close(k.fired)
	}
	runtime.AddCleanup(k, func(c *C.yaowasm_cancel) { C.yaowasm_cancel_free(c) }, c)
	return k
}}

// budget is the C API's per-call limits made from a ctx.
type budget struct {
	timeoutMs C.uint64_t
	k         *canceler
	stop      func() bool
}

// execBudget turns ctx into the C API's per-call limits: its deadline into
// timeout_ms (the runtime's timeout_ms still caps it) and its Done into a
// cancel flag triggered from another goroutine. A ctx that can never be
// cancelled (Done nil, as Background) gets no flag. release must run after
// the call returns.
func execBudget(ctx context.Context) (b budget) {
	if deadline, ok := ctx.Deadline(); ok {
		ms := time.Until(deadline).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		b.timeoutMs = C.uint64_t(ms)
	}
	if ctx.Done() == nil {
		return b
	}
	b.k = cancelers.Get().(*canceler)
	b.stop = context.AfterFunc(ctx, b.k.trigger)
	return b
}

func (b *budget) cancel() *C.yaowasm_cancel {
	if b.k == nil {
		return nil
	}
	return b.k.c
}

func (b *budget) release() {
	if b.k == nil {
		return
	}
	if b.stop() {
		cancelers.Put(b.k) // never triggered: reusable
		return
	}
	<-b.k.fired // the trigger is running or ran: let it finish; the cleanup frees the flag
}
