// Declarations shared by the binding's C code (callbacks.c) and its cgo
// preambles.
#ifndef YW_H
#define YW_H
#include <stddef.h>
#include <stdint.h>
#include "yaowasm.h"

// One Exec running on this thread: id is its entry in the Go frame table
// (its ctx), prev the Exec it is nested in (NULL for the outermost). It
// lives on yw_exec's C stack; process callbacks get the innermost one.
typedef struct yw_frame {
  uintptr_t id;
  const struct yw_frame *prev;
} yw_frame;

void yw_set_process_handler(yaowasm_runtime *rt, uintptr_t handle);
void yw_set_log_handler(yaowasm_runtime *rt, uintptr_t handle);

// yaowasm_runtime_exec_ctx (timeout_ms, cancel, and the call context: a
// MessagePack map of context_len bytes, or NULL) with frame pushed on this
// thread's Exec stack while it runs. A result of at most cap bytes is copied to dst and freed
// (out->ptr NULL, out->len its length): one cgo call per Exec; a larger one
// is left in out for the caller to free. On failure dst holds the last
// error's message instead (cut at cap), out->ptr NULL, out->len its length.
int32_t yw_exec(yaowasm_runtime *rt, const char *name, const uint8_t *args, size_t args_len,
                uint64_t timeout_ms, const yaowasm_cancel *cancel, const uint8_t *context,
                size_t context_len, uintptr_t frame, uint8_t *dst, size_t cap, yaowasm_buf *out);
#endif
