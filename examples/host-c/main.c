/*
 * A C host for yaowasm: load a scripts folder, serve the guests' process
 * calls and log records, run two processes and check what comes back.
 *
 * Build and run: make run   (needs target/debug/libyaowasm.so: cargo build --lib)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaowasm.h"

static int failures = 0;
#define CHECK(cond, ...)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      failures++;                                            \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
      fprintf(stderr, __VA_ARGS__);                          \
      fputc('\n', stderr);                                   \
    }                                                        \
  } while (0)

/* Serves models.user.Find: [1] -> {"id": 1, "name": "Ada"}; others -> 404. */
static void on_process(void *user_data, const char *name, size_t name_len, const uint8_t *args,
                       size_t args_len, yaowasm_result *res) {
  int *calls = user_data;
  (*calls)++;
  if (name_len == 16 && memcmp(name, "models.user.Find", 16) == 0 && args_len == 2 &&
      args[0] == 0x91 && args[1] == 0x01) {
    static const uint8_t ada[] = {0x82, 0xa2, 'i', 'd', 0x01, 0xa4, 'n', 'a', 'm', 'e', 0xa3, 'A', 'd', 'a'};
    yaowasm_result_ok(res, ada, sizeof ada);
    return;
  }
  static const char missing[] = "user not found";
  yaowasm_result_error(res, 404, missing, sizeof missing - 1);
}

static void on_log(void *user_data, int32_t level, const char *msg, size_t len) {
  int *records = user_data;
  (*records)++;
  printf("  log level %d: %.*s\n", level, (int)len, msg);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "build/scripts";
  printf("libyaowasm %s\n", yaowasm_version());

  /* Every function returns 0 or a Yao code; the message is in
     yaowasm_last_error(); results come through out-params. */
  yaowasm_runtime *rt = NULL;
  if (yaowasm_runtime_new("{\"timeout_ms\": 500}", &rt) != YAOWASM_OK) {
    fprintf(stderr, "runtime: %s\n", yaowasm_last_error());
    return 1;
  }
  /* The load report (MessagePack: loaded, problems) is optional: NULL. */
  int32_t code = yaowasm_runtime_load_dir(rt, dir, NULL);
  CHECK(code == YAOWASM_OK, "load_dir(%s) = %d: %s", dir, code, yaowasm_last_error() ? yaowasm_last_error() : "");

  int calls = 0, records = 0;
  yaowasm_runtime_set_process_handler(rt, on_process, &calls);
  yaowasm_runtime_set_log_handler(rt, on_log, &records);

  /* scripts.demo.hook.Greet(1): the guest asks the host for user 1. */
  const uint8_t one[] = {0x91, 0x01};
  yaowasm_buf out;
  code = yaowasm_runtime_exec(rt, "scripts.demo.hook.Greet", one, sizeof one, &out);
  CHECK(code == 0, "Greet(1) = %d: %s", code, yaowasm_last_error() ? yaowasm_last_error() : "");
  CHECK(out.len == 14 && memcmp(out.ptr + 11, "Ada", 3) == 0, "Greet(1) answered %zu bytes", out.len);
  yaowasm_buf_free(out);
  CHECK(calls == 1 && records == 1, "calls %d, log records %d", calls, records);

  /* The host's 404 passes through the guest with its code. */
  const uint8_t two[] = {0x91, 0x02};
  code = yaowasm_runtime_exec(rt, "scripts.demo.hook.Greet", two, sizeof two, &out);
  CHECK(code == 404 && out.ptr == NULL && strcmp(yaowasm_last_error(), "user not found") == 0, "Greet(2) = %d %s", code,
        yaowasm_last_error());

  /* A guest-raised error keeps its code; JSON in and out. */
  code = yaowasm_runtime_exec_json(rt, "scripts.demo.hook.Deny", "[]", &out);
  CHECK(code == YAOWASM_FORBIDDEN && strcmp(yaowasm_last_error(), "forbidden") == 0, "Deny = %d %s", code,
        yaowasm_last_error());

  /* Unknown names are 404 and leave their reason in yaowasm_last_error. */
  code = yaowasm_runtime_exec(rt, "scripts.demo.nope.Greet", NULL, 0, &out);
  CHECK(code == YAOWASM_NOT_FOUND && yaowasm_last_error() != NULL, "nope = %d", code);

  yaowasm_runtime_free(rt);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("all checks passed\n");
  return failures ? 1 : 0;
}
