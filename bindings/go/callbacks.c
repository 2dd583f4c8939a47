// C trampolines with the exact types of yaowasm_process_fn and
// yaowasm_log_fn, forwarding to the Go exports in callbacks.go. user_data
// carries a cgo.Handle (an integer), never a Go pointer.
#include "yaowasm.h"
#include "_cgo_export.h"

static void yw_process_trampoline(void *user_data, const char *name, size_t name_len,
                                  const uint8_t *args, size_t args_len, yaowasm_result *res) {
  ywGoProcess((uintptr_t)user_data, (char *)name, name_len, (uint8_t *)args, args_len, res);
}

static void yw_log_trampoline(void *user_data, int32_t level, const char *msg, size_t len) {
  ywGoLog((uintptr_t)user_data, level, (char *)msg, len);
}

void yw_set_process_handler(yaowasm_runtime *rt, uintptr_t handle) {
  yaowasm_runtime_set_process_handler(rt, handle ? yw_process_trampoline : NULL, (void *)handle);
}

void yw_set_log_handler(yaowasm_runtime *rt, uintptr_t handle) {
  yaowasm_runtime_set_log_handler(rt, handle ? yw_log_trampoline : NULL, (void *)handle);
}
