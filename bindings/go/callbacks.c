// C trampolines with the exact types of yaowasm_process_fn and
// yaowasm_log_fn, forwarding to the Go exports in callbacks.go, and the
// Exec wrapper that tells them which Exec (ctx) they run under. user_data
// carries a cgo.Handle (an integer), never a Go pointer.
#include <string.h>
#include "yw.h"
#include "_cgo_export.h"

// The innermost Exec running on this thread. The guest and its process
// callbacks run on the thread that called exec, so the callback finds its
// Exec here without any lookup by thread id.
static __thread const yw_frame *yw_top;

int32_t yw_exec(yaowasm_runtime *rt, const char *name, const uint8_t *args, size_t args_len,
                uint64_t timeout_ms, const yaowasm_cancel *cancel, const uint8_t *context,
                size_t context_len, uintptr_t frame, uint8_t *dst, size_t cap, yaowasm_buf *out) {
  yaowasm_exec_options opts = {timeout_ms, cancel, context, context_len};
  yw_frame f = {frame, yw_top};
  yw_top = &f;
  int32_t code = yaowasm_runtime_exec_ctx(rt, name, args, args_len, &opts, out);
  yw_top = f.prev;
  if (code != 0) {
    // The message is in this thread's last error only: copy it (cut at
    // cap) while still on this thread, as the result would be.
    const char *msg = yaowasm_last_error();
    size_t len = msg ? strlen(msg) : 0;
    if (len > cap) len = cap;
    if (len) memcpy(dst, msg, len);
    out->ptr = NULL;
    out->len = len;
    return code;
  }
  if (out->len <= cap) {
    if (out->len) memcpy(dst, out->ptr, out->len);
    yaowasm_buf_free(*out);
    out->ptr = NULL;
  }
  return code;
}

static void yw_process_trampoline(void *user_data, const char *name, size_t name_len,
                                  const uint8_t *args, size_t args_len, yaowasm_result *res) {
  ywGoProcess((uintptr_t)user_data, (yw_frame *)yw_top, (char *)name, name_len, (uint8_t *)args,
              args_len, res);
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
