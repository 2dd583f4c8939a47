package yaowasm

/*
#include "yaowasm.h"
*/
import "C"

import (
	"context"
	"time"
)

// execBudget turns ctx into the C API's per-call limits: its deadline into
// timeout_ms (the runtime's timeout_ms still caps it) and its Done into a
// cancel flag triggered from another goroutine. release must run after the
// call returns.
func execBudget(ctx context.Context) (timeoutMs C.uint64_t, cancel *C.yaowasm_cancel, release func()) {
	if deadline, ok := ctx.Deadline(); ok {
		ms := time.Until(deadline).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		timeoutMs = C.uint64_t(ms)
	}
	if ctx.Done() == nil {
		return timeoutMs, nil, func() {}
	}
	cancel = C.yaowasm_cancel_new()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.yaowasm_cancel_trigger(cancel)
		close(fired)
	})
	return timeoutMs, cancel, func() {
		if !stop() {
			<-fired // the trigger is running or ran: let it finish before the free
		}
		C.yaowasm_cancel_free(cancel)
	}
}
