package yaowasm

/*
#include "yaowasm.h"

// Runs exec n times from C: the C-ABI baseline for the Go overhead figure.
static int32_t yw_exec_loop(yaowasm_runtime *rt, const char *name, const uint8_t *args, size_t len, int n) {
  for (int i = 0; i < n; i++) {
    yaowasm_buf out = {0};
    int32_t code = yaowasm_runtime_exec(rt, name, args, len, &out);
    yaowasm_buf_free(out);
    if (code) return code;
  }
  return 0;
}
*/
import "C"

import "unsafe"

// cExecLoop is for BenchmarkCABIExec only (cgo is not allowed in _test files).
func cExecLoop(r *Runtime, name string, payload []byte, n int) error {
	rt, err := r.enter()
	if err != nil {
		return err
	}
	defer r.leave()
	cname := append([]byte(name), 0)
	code := C.yw_exec_loop(rt, (*C.char)(unsafe.Pointer(&cname[0])), (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.size_t(len(payload)), C.int(n))
	if code != 0 {
		return &Error{int(code), "exec failed"}
	}
	return nil
}
