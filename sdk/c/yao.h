/*
 * yao.h — write Yao scripts in C for yaowasm. A single header.
 *
 * Build a script (with wasi-libc, as a reactor):
 *     clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -Wl,--strip-all -I sdk/c -o user.wasm user.c
 * or without any libc:
 *     clang-19 --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--strip-all \
 *         -I sdk/c -o user.wasm user.c
 *
 * In exactly ONE .c file of a module, define YAO_IMPLEMENTATION before the
 * include: that file gets the code, including the `yao_alloc` / `yao_free`
 * exports the host needs. Other files include the header plainly.
 *
 *     #define YAO_IMPLEMENTATION
 *     #include "yao.h"
 *
 *     static int32_t add(yao_reader *args, uint32_t argc, yao_writer *out) {
 *         int64_t a, b;
 *         if (argc < 2 || !yao_read_int(args, &a) || !yao_read_int(args, &b))
 *             return yao_fail(out, 400, "Add expects two integers");
 *         yao_write_int(out, a + b);
 *         return 0;
 *     }
 *     YAO_EXPORT(Add, add)   // the process scripts.<id>.Add
 *
 * A script function reads its arguments from `args` (a cursor just past the
 * args array header; `argc` values follow) and writes exactly ONE value into
 * `out` (writing nothing means nil). It returns 0, or an error code: use
 * `return yao_fail(out, code, message);` so the host gets {code, message}.
 *
 * Values are MessagePack (SPEC §2). The writer and the reader below are a
 * complete codec for Yao values; they never read or write out of bounds,
 * whatever the input, and report every problem through their return values.
 *
 * Memory: every call runs in a fresh instance, so what a function allocates
 * (the result included) is dropped with the instance. Without libc the
 * allocator is a bump allocator that never reuses memory; with libc it is
 * malloc. The header also compiles for the build machine (gcc/clang, no
 * wasm), where yao_process and yao_log are served by test hooks
 * (yao_test_set_process / yao_test_set_log), so script logic can be tested
 * natively.
 */
#ifndef YAO_H
#define YAO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>

/* The SDK's version: `yaowasm inspect` prints it for modules built with it. */
#define YAO_SDK_VERSION "0.2.0"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Writer: builds one MessagePack value in a growable buffer.                */
/* ------------------------------------------------------------------------ */

/* A growable output buffer. Zero-initialise it (or yao_writer_init). After an
   allocation failure `failed` is set, every later write does nothing and
   returns false, so it is enough to check `failed` once at the end. */
typedef struct yao_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
} yao_writer;

void yao_writer_init(yao_writer *w);
/* Releases the buffer (not needed inside a script function: `out` is
   handed to the host). */
void yao_writer_free(yao_writer *w);
/* Empties the buffer, keeping its memory; clears `failed`. */
void yao_writer_reset(yao_writer *w);

bool yao_write_nil(yao_writer *w);
bool yao_write_bool(yao_writer *w, bool v);
/* Integers in the smallest encoding that holds them. */
bool yao_write_int(yao_writer *w, int64_t v);
bool yao_write_uint(yao_writer *w, uint64_t v);
bool yao_write_float(yao_writer *w, double v);   /* float 64 */
bool yao_write_float32(yao_writer *w, float v);  /* float 32 */
/* A UTF-8 string of `len` bytes (the bytes are not checked). */
bool yao_write_str(yao_writer *w, const char *s, size_t len);
/* A NUL-terminated string. */
bool yao_write_cstr(yao_writer *w, const char *s);
bool yao_write_bin(yao_writer *w, const void *data, size_t len);
/* Headers: `n` values (array) or `n` key/value pairs (map) must follow. */
bool yao_write_array(yao_writer *w, uint32_t n);
bool yao_write_map(yao_writer *w, uint32_t n);
/* Copies bytes that are already MessagePack (e.g. a span from a reader). */
bool yao_write_raw(yao_writer *w, const void *data, size_t len);

/* ------------------------------------------------------------------------ */
/* Reader: a cursor over MessagePack bytes.                                  */
/* ------------------------------------------------------------------------ */

typedef enum yao_type {
    YAO_INVALID = 0, /* malformed, truncated, or at the end */
    YAO_NIL,
    YAO_BOOL,
    YAO_INT,   /* any integer, signed or not */
    YAO_FLOAT, /* float 32 or float 64 */
    YAO_STR,
    YAO_BIN,
    YAO_ARRAY,
    YAO_MAP,
    YAO_EXT    /* not a Yao value (SPEC §2), but skippable */
} yao_type;

/* A cursor over [p, end). Reads advance it only on success: a read that
   fails (wrong type, truncated input) returns false and leaves the cursor
   where it was, so the caller can yao_peek and try another type. */
typedef struct yao_reader {
    const uint8_t *p;
    const uint8_t *end;
} yao_reader;

yao_reader yao_reader_make(const void *data, size_t len);
/* True when every byte was consumed. */
bool yao_reader_done(const yao_reader *r);
/* The type of the next value, YAO_INVALID if its header is malformed or
   truncated. Does not check the value's body. */
yao_type yao_peek(const yao_reader *r);

bool yao_read_nil(yao_reader *r);
bool yao_read_bool(yao_reader *r, bool *out);
/* Fails on an unsigned value above INT64_MAX. */
bool yao_read_int(yao_reader *r, int64_t *out);
/* Fails on a negative value. */
bool yao_read_uint(yao_reader *r, uint64_t *out);
/* Floats only; see yao_read_number for "any number". */
bool yao_read_float(yao_reader *r, double *out);
/* Any integer or float, as a double. */
bool yao_read_number(yao_reader *r, double *out);
/* Strings and binaries are not copied: *out points into the input and is
   NOT NUL-terminated. */
bool yao_read_str(yao_reader *r, const char **out, uint32_t *len);
bool yao_read_bin(yao_reader *r, const uint8_t **out, uint32_t *len);
/* Reads an array / map header: `*n` values / pairs follow. */
bool yao_read_array(yao_reader *r, uint32_t *n);
bool yao_read_map(yao_reader *r, uint32_t *n);
/* Skips one complete value (nested ones included; no recursion, so deep
   nesting cannot overflow the stack). False if it is malformed/truncated. */
bool yao_skip(yao_reader *r);
/* Reads one complete value and gives its raw bytes (to copy it into a
   writer with yao_write_raw, or to read it again later). */
bool yao_read_raw(yao_reader *r, const uint8_t **out, size_t *len);
/* Looks `key` up in the map at the cursor without moving the cursor. On a
   hit `*value` is a reader over exactly that value. Returns 1 found, 0 not
   found (the map is well formed), -1 not a map or malformed. Keys that are
   not strings are skipped; with duplicate keys, the last one wins. */
int yao_map_find(const yao_reader *map, const char *key, yao_reader *value);
/* The same with a key of `key_len` bytes (not NUL-terminated). */
int yao_map_find_n(const yao_reader *map, const char *key, size_t key_len, yao_reader *value);
/* Compares a string read with yao_read_str to a C string. */
bool yao_str_eq(const char *s, uint32_t len, const char *cstr);

/* ------------------------------------------------------------------------ */
/* Script functions, processes, logs.                                        */
/* ------------------------------------------------------------------------ */

/* A script function: see the top of this file. */
typedef int32_t (*yao_fn)(yao_reader *args, uint32_t argc, yao_writer *out);

/* Replaces whatever `out` holds with the error value {code, message} and
   returns `code` (a code of 0 becomes 500), for `return yao_fail(...)`. */
int32_t yao_fail(yao_writer *out, int32_t code, const char *message);
/* The same with a message of `len` bytes. */
int32_t yao_fail_n(yao_writer *out, int32_t code, const char *message, size_t len);
/* yao_fail with a printf-style message, without libc (no snprintf, so no
   wasi-libc is pulled in): %s, %d/%i, %u, %x, %c and %% with the length
   modifiers l, ll and z (%ld, %lld, %zu...). A NULL %s prints "(null)"; an
   unknown conversion is copied as it is. The message is cut at 1023 bytes. */
int32_t yao_failf(yao_writer *out, int32_t code, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Runs `fn` on the encoded args array `args` (NULL/0 = no args) and leaves
   its result (code 0) or its error value {code, message} (any other code)
   in `out`, which must be initialised. Returns the code. Usable natively to
   test script functions. */
int32_t yao_call(yao_fn fn, const uint8_t *args, size_t args_len, yao_writer *out);
/* Runs `fn` for the host: what YAO_EXPORT expands to. */
int64_t yao_dispatch(yao_fn fn, int32_t args_ptr, int32_t args_len);

/* Exports `fn` as the script function `Name` (the process
   scripts.<id>.Name). Use at file scope, once per name. */
/* On the build machine (tests) the function is an ordinary one: export
   names exist only in wasm. */
#ifdef __wasm__
#define YAO__EXPORT_NAME(Name) __attribute__((export_name(#Name)))
#else
#define YAO__EXPORT_NAME(Name)
#endif
#define YAO_EXPORT(Name, fn)                                                  \
    YAO__EXPORT_NAME(Name) int64_t yao_export_##Name(                         \
        int32_t args_ptr, int32_t args_len) {                                 \
        return yao_dispatch((fn), args_ptr, args_len);                        \
    }

/* What a process answered. On success (code 0) `data`/`len` hold its
   MessagePack result (a nil result is the one byte 0xc0); on an error
   answer `code` is its code and `message`/`message_len` its message (not
   NUL-terminated, pointing into `data`). Free with yao_answer_free. */
typedef struct yao_answer {
    int32_t code;
    uint8_t *data;
    uint32_t len;
    const char *message;
    uint32_t message_len;
} yao_answer;

/* Calls the Yao process `name` (NUL-terminated) with `args`, the encoded
   args ARRAY (e.g. a writer's data/len; NULL/0 means no args). Returns
   out->code: 0, or the code of the error answer. `out` is always set. */
int32_t yao_process(const char *name, const uint8_t *args, size_t args_len, yao_answer *out);
/* A reader over a successful answer's result. */
yao_reader yao_answer_reader(const yao_answer *a);
void yao_answer_free(yao_answer *a);

/* The host API (docs/ABI.md §5-§8). Each answers like yao_process: out->code
   0 with the MessagePack result in out->data/len (a nil result has len 0 or
   is the byte 0xc0; yao_answer_reader gives nil for both), or the code and
   message of the error (400 bad args, 403 refused, 404 not found, 408
   timeout, 413 too large, 502 remote end failed). Strings are
   NUL-terminated; `args` is the encoded args ARRAY of the method (NULL/0 =
   no args). `out` is always set; free it with yao_answer_free. */

/* Any Store method on store `name`: Get [key], Set [key, value, ttl?], Has
   [key], Del [key], Keys [], Len [], Clear [], GetSet [key, value, ttl?],
   GetDel [key], Incr [key, by?] and the list methods (typed wrappers
   below). ttl in seconds; nil or 0 = no expiry. */
int32_t yao_store(const char *name, const char *method, const uint8_t *args, size_t args_len, yao_answer *out);
/* Fast paths. get: the value (nil when absent). set: `value` is ONE encoded
   value; ttl_seconds <= 0 = no expiry. del: fine when absent. */
int32_t yao_store_get(const char *name, const char *key, yao_answer *out);
int32_t yao_store_set(const char *name, const char *key, const uint8_t *value, size_t value_len,
                      int64_t ttl_seconds, yao_answer *out);
int32_t yao_store_del(const char *name, const char *key, yao_answer *out);
/* Incr and the list methods (gou's array operations on the value at `key`),
   typed: each builds the args array and calls yao_store. Values go in as
   MessagePack: `value`/`value_len` is ONE encoded value; `values`/
   `values_len` is `n` encoded values back to back (written into one
   yao_writer with no array header). Bytes that are not exactly one value,
   or `n`, are a 400 before anything is sent. An absent key is an empty list
   to the readers and the removers; the writers make the list; a list
   emptied by pop, pull or pull_all is deleted. A key that holds something
   other than a list is a 400 for all but array_len. Elements are equal when
   they are the same value (1 and 1.0 differ).

   incr: adds `by` to the number at `key` (absent or expired: 0) atomically,
   keeping the key's TTL; the result is the new number (an integer, or a
   float when the stored value is one; read it with yao_read_number when
   either may come). A value that is not a number is a 400 and stays as it
   was. incr_float: the same with a float step (the result is a float). */
int32_t yao_store_incr(const char *name, const char *key, int64_t by, yao_answer *out);
int32_t yao_store_incr_float(const char *name, const char *key, double by, yao_answer *out);
/* push: appends the `n` values in order, making the list when `key` is
   absent (n 0: the host's 400). Result nil. add_to_set: appends, in order,
   each value not already in the list (nor earlier among the values), also
   making the list. Result nil. */
int32_t yao_store_push(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                       yao_answer *out);
int32_t yao_store_add_to_set(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                             yao_answer *out);
/* pop: removes and answers an element, the last for `position` 1, the first
   for any other (gou uses -1); 404 when the list is empty or absent. */
int32_t yao_store_pop(const char *name, const char *key, int64_t position, yao_answer *out);
/* pull: removes every element equal to `value`. pull_all: every element
   equal to any of the `n` values (sent as [key, [values]], so one value that
   is itself an array stays one value). Result nil, also for an absent key. */
int32_t yao_store_pull(const char *name, const char *key, const uint8_t *value, size_t value_len, yao_answer *out);
int32_t yao_store_pull_all(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                           yao_answer *out);
/* array_len: an integer, 0 for an absent key or a value that is not a list.
   array_get: the element at `index` (from 0); 404 past the end or on an
   absent key, 400 for a negative index. array_set: replaces it (nil), the
   same errors. */
int32_t yao_store_array_len(const char *name, const char *key, yao_answer *out);
int32_t yao_store_array_get(const char *name, const char *key, int64_t index, yao_answer *out);
int32_t yao_store_array_set(const char *name, const char *key, int64_t index, const uint8_t *value, size_t value_len,
                            yao_answer *out);
/* Arrays: array_slice, up to `limit` elements after the first `skip` ([]
   for a negative skip, a limit under 1, past the end); array_page, page
   `page` (from 1) of `page_size` elements ([] for a page or size under 1,
   past the end); array_all, every element. [] for an absent key. */
int32_t yao_store_array_slice(const char *name, const char *key, int64_t skip, int64_t limit, yao_answer *out);
int32_t yao_store_array_page(const char *name, const char *key, int64_t page, int64_t page_size, yao_answer *out);
int32_t yao_store_array_all(const char *name, const char *key, yao_answer *out);
/* Any FS method under root `root` ("data", "system"): ReadFile,
   ReadFileBuffer, WriteFile, WriteFileBuffer, AppendFile, Exists, IsDir,
   IsFile, ReadDir, Mkdir, MkdirAll, Remove, RemoveAll, Size, Move, Copy.
   Paths are relative to the root. */
int32_t yao_fs(const char *root, const char *method, const uint8_t *args, size_t args_len, yao_answer *out);
/* An HTTP request: Get [url, query?, headers?, timeout_ms?], Post [url,
   payload?, files?, query?, headers?, timeout_ms?], Put/Patch/Delete/Head [url,
   payload?, query?, headers?, timeout_ms?], Send [method, url, payload?,
   query?, headers?, timeout_ms?]. Result: {status, headers, data}. Post's
   files, a map of form field to a path under the fs root "data", uploads
   them as multipart/form-data (docs/ABI.md §7); yao_http_post_files below
   builds those args. */
int32_t yao_http(const char *method, const uint8_t *args, size_t args_len, yao_answer *out);
/* One upload of yao_http_post_files: the file at `path` (NUL-terminated,
   relative to the runtime's fs root "data") goes as the form field `field`. */
typedef struct yao_file {
    const char *field;
    const char *path;
} yao_file;
/* Yao's http.Post with uploads: sends Post [url, fields, files] through
   yao_http. The `n_files` files (give each field once) go as
   multipart/form-data, the runtime setting its Content-Type and streaming
   them from disk; `fields` is ONE encoded value, a map whose entries become
   text fields (numbers and bools as text, nil empty, arrays and maps as
   JSON), or NULL/0 for none. n_files 0 sends a plain POST with `fields` as
   its JSON body. Answers like yao_http: {status, headers, data}, or 400 (a
   `fields` that is not one value, or with files not a map), 403 (host not
   allowed, or a path outside "data"), 404 (a missing file), 413 (more than
   256 MiB in all), 408, 502. For a query, headers or a timeout, write the
   args array [url, fields, files, query, headers, timeout_ms] yourself
   (files: a map of field -> path) and call yao_http("Post", ...). */
int32_t yao_http_post_files(const char *url, const uint8_t *fields, size_t fields_len, const yao_file *files,
                            size_t n_files, yao_answer *out);
/* A QueryDSL query, run by the host as the process query.Run. args:
   [dsl, bindings?, engine?, method?] (docs/ABI.md §8). */
int32_t yao_query(const uint8_t *args, size_t args_len, yao_answer *out);
/* The context of the running call (docs/ABI.md `context`): the map {sid
   (string, "" when none), global (map, {} when none), authorized (map, or
   nil when none)}; read its fields with yao_map_find on
   yao_answer_reader(out). Never fails in a runtime. Outside wasm it asks
   the process hook for "yao.context" (no args). */
int32_t yao_context(yao_answer *out);
/* Concurrency (docs/ABI.md §10): All/Any/Race [tasks] with tasks
   [{process, args?, timeout? (seconds)}] run in parallel and answer
   [{data, index, error?, code?}] in task order; Job [process, args?] -> id;
   Running [id, wait_ms?] -> bool; Data [id]; Cancel [id];
   After [ms, process, args?]. */
int32_t yao_tasks(const char *method, const uint8_t *args, size_t args_len, yao_answer *out);
/* Blocks `ms` milliseconds; a sleep past the call's deadline ends the call
   (408) at the deadline. */
int32_t yao_sleep(int64_t ms, yao_answer *out);

enum { YAO_TRACE = 0, YAO_DEBUG = 1, YAO_INFO = 2, YAO_WARN = 3, YAO_ERROR = 4 };
/* Emits one log record; the message is `len` bytes, not NUL-terminated. */
void yao_log(int32_t level, const char *msg, size_t len);
void yao_log_trace(const char *msg);
void yao_log_debug(const char *msg);
void yao_log_info(const char *msg);
void yao_log_warn(const char *msg);
void yao_log_error(const char *msg);

/* Memory for scripts: malloc/free with libc, the bump allocator without. */
void *yao_malloc(size_t size);
void yao_mfree(void *ptr);

#if !defined(__wasm__)
/* Build-machine test hooks (not in wasm builds). The process hook gets the
   name and the args array and must answer into `out` (code 0 and a result
   from yao_malloc, or an error code and message). */
typedef void (*yao_test_process_fn)(const char *name, const uint8_t *args, size_t args_len,
                                    yao_answer *out);
typedef void (*yao_test_log_fn)(int32_t level, const char *msg, size_t len);
void yao_test_set_process(yao_test_process_fn fn);
void yao_test_set_log(yao_test_log_fn fn);
#endif

#ifdef __cplusplus
}
#endif
#endif /* YAO_H */

/* ======================================================================== */
/* Implementation                                                           */
/* ======================================================================== */
#ifdef YAO_IMPLEMENTATION
#ifndef YAO_IMPLEMENTATION_DONE
#define YAO_IMPLEMENTATION_DONE

/* Names this SDK inside every module built with it, for `yaowasm inspect`:
   a data string, since `wasm-ld --strip-all` drops custom sections; `used`
   keeps the compiler and the linker from dropping it. */
__attribute__((used)) static const char yao__sdk_mark[] = "\0yaowasm-sdk:c " YAO_SDK_VERSION "\0";

#if defined(__wasm__) && !defined(__wasi__)
#define YAO_NO_LIBC 1
#endif

#ifndef YAO_NO_LIBC
#include <stdlib.h>
#include <string.h>
#endif

/* ---- tiny libc-free helpers --------------------------------------------- */

static void yao__copy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) *d++ = *s++;
}

static size_t yao__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* ---- memory --------------------------------------------------------------- */

#ifdef YAO_NO_LIBC
/* The compiler emits calls to these for struct copies and copy loops even
   without a libc. Weak, so a module that links its own wins. (LLVM does not
   turn the loops inside a function named memcpy/memset into calls to
   themselves.) */
__attribute__((weak)) void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) *d++ = *s++;
    return dst;
}
__attribute__((weak)) void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (d < s) while (n--) *d++ = *s++;
    else while (n--) d[n] = s[n];
    return dst;
}
__attribute__((weak)) void *memset(void *dst, int c, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}
#endif

#ifdef YAO_NO_LIBC
extern unsigned char __heap_base;
static uintptr_t yao__heap_top;

/* Bump allocator: 8-byte aligned blocks with their size in front (so
   realloc can copy), memory grown in 64 KiB pages as needed; never reused
   (an instance lives for one call). */
void *yao_malloc(size_t size) {
    if (!yao__heap_top) yao__heap_top = (uintptr_t)&__heap_base;
    uintptr_t start = (yao__heap_top + 7u) & ~(uintptr_t)7u;
    uintptr_t block = start + 8u;
    if (size > (uintptr_t)-1 - block - 8u) return 0;
    uintptr_t end = block + size;
    /* 64-bit: a full 4 GiB memory's size does not fit in a wasm32 word. */
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        size_t pages = (size_t)(((uint64_t)end - have + 65535u) / 65536u);
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
    }
    /* The size sits in the word just before the block (yao__realloc). */
    *((size_t *)block - 1) = size;
    yao__heap_top = end;
    return (void *)block;
}
void yao_mfree(void *ptr) { (void)ptr; }
static void *yao__realloc(void *ptr, size_t size) {
    if (!ptr) return yao_malloc(size);
    size_t old = *((size_t *)ptr - 1);
    if (size <= old) return ptr;
    /* Growing the last block in place avoids copying a growing writer. */
    if ((uintptr_t)ptr + old == yao__heap_top) {
        uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
        if (size > (uintptr_t)-1 - (uintptr_t)ptr) return 0;
        uintptr_t end = (uintptr_t)ptr + size;
        if (end > have && __builtin_wasm_memory_grow(0, (size_t)(((uint64_t)end - have + 65535u) / 65536u)) == (size_t)-1)
            return 0;
        *((size_t *)ptr - 1) = size;
        yao__heap_top = end;
        return ptr;
    }
    void *fresh = yao_malloc(size);
    if (fresh) yao__copy(fresh, ptr, old);
    return fresh;
}
#else
void *yao_malloc(size_t size) { return malloc(size ? size : 1); }
void yao_mfree(void *ptr) { free(ptr); }
static void *yao__realloc(void *ptr, size_t size) { return realloc(ptr, size ? size : 1); }
#endif

#ifdef __wasm__
/* The host writes args and process results through these (SPEC §3). */
__attribute__((export_name("yao_alloc"))) int32_t yao_alloc(int32_t size) {
    if (size < 0) return 0;
    return (int32_t)(uintptr_t)yao_malloc((size_t)size);
}
__attribute__((export_name("yao_free"))) void yao_free(int32_t ptr, int32_t size) {
    (void)size;
    yao_mfree((void *)(uintptr_t)ptr);
}
#endif

/* ---- writer ---------------------------------------------------------------- */

void yao_writer_init(yao_writer *w) {
    w->data = 0;
    w->len = 0;
    w->cap = 0;
    w->failed = false;
}

void yao_writer_free(yao_writer *w) {
    yao_mfree(w->data);
    yao_writer_init(w);
}

void yao_writer_reset(yao_writer *w) {
    w->len = 0;
    w->failed = false;
}

static bool yao__reserve(yao_writer *w, size_t more) {
    if (w->failed) return false;
    if (more > (size_t)-1 - w->len) {
        w->failed = true;
        return false;
    }
    size_t need = w->len + more;
    if (need <= w->cap) return true;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    uint8_t *data = (uint8_t *)yao__realloc(w->data, cap);
    if (!data) {
        w->failed = true;
        return false;
    }
    w->data = data;
    w->cap = cap;
    return true;
}

static bool yao__put(yao_writer *w, const void *bytes, size_t n) {
    if (!yao__reserve(w, n)) return false;
    yao__copy(w->data + w->len, bytes, n);
    w->len += n;
    return true;
}

/* A marker byte followed by `size` big-endian bytes of `v`. */
static bool yao__put_be(yao_writer *w, uint8_t marker, uint64_t v, int size) {
    uint8_t buf[9];
    buf[0] = marker;
    for (int i = 0; i < size; i++) buf[1 + i] = (uint8_t)(v >> (8 * (size - 1 - i)));
    return yao__put(w, buf, (size_t)size + 1);
}

bool yao_write_nil(yao_writer *w) { return yao__put_be(w, 0xc0, 0, 0); }
bool yao_write_bool(yao_writer *w, bool v) { return yao__put_be(w, v ? 0xc3 : 0xc2, 0, 0); }

bool yao_write_uint(yao_writer *w, uint64_t v) {
    if (v < 128) return yao__put_be(w, (uint8_t)v, 0, 0);
    if (v <= 0xff) return yao__put_be(w, 0xcc, v, 1);
    if (v <= 0xffff) return yao__put_be(w, 0xcd, v, 2);
    if (v <= 0xffffffffu) return yao__put_be(w, 0xce, v, 4);
    return yao__put_be(w, 0xcf, v, 8);
}

bool yao_write_int(yao_writer *w, int64_t v) {
    if (v >= 0) return yao_write_uint(w, (uint64_t)v);
    if (v >= -32) return yao__put_be(w, (uint8_t)(int8_t)v, 0, 0);
    if (v >= INT8_MIN) return yao__put_be(w, 0xd0, (uint64_t)v & 0xff, 1);
    if (v >= INT16_MIN) return yao__put_be(w, 0xd1, (uint64_t)v & 0xffff, 2);
    if (v >= INT32_MIN) return yao__put_be(w, 0xd2, (uint64_t)v & 0xffffffffu, 4);
    return yao__put_be(w, 0xd3, (uint64_t)v, 8);
}

bool yao_write_float(yao_writer *w, double v) {
    uint64_t bits;
    yao__copy(&bits, &v, 8);
    return yao__put_be(w, 0xcb, bits, 8);
}

bool yao_write_float32(yao_writer *w, float v) {
    uint32_t bits;
    yao__copy(&bits, &v, 4);
    return yao__put_be(w, 0xca, bits, 4);
}

/* A header for a length `n`: `fix` is the fix-form marker (or 0 when the
   type has none, as bin), then the 8/16/32-bit markers. */
static bool yao__put_len(yao_writer *w, size_t n, uint8_t fix, size_t fix_max, uint8_t m8, uint8_t m16,
                         uint8_t m32) {
    if (fix && n <= fix_max) return yao__put_be(w, (uint8_t)(fix | n), 0, 0);
    if (m8 && n <= 0xff) return yao__put_be(w, m8, n, 1);
    if (n <= 0xffff) return yao__put_be(w, m16, n, 2);
    if ((uint64_t)n <= 0xffffffffu) return yao__put_be(w, m32, n, 4);
    w->failed = true;
    return false;
}

bool yao_write_str(yao_writer *w, const char *s, size_t len) {
    return yao__put_len(w, len, 0xa0, 31, 0xd9, 0xda, 0xdb) && yao__put(w, s, len);
}
bool yao_write_cstr(yao_writer *w, const char *s) { return yao_write_str(w, s, yao__strlen(s)); }
bool yao_write_bin(yao_writer *w, const void *data, size_t len) {
    return yao__put_len(w, len, 0, 0, 0xc4, 0xc5, 0xc6) && yao__put(w, data, len);
}
bool yao_write_array(yao_writer *w, uint32_t n) { return yao__put_len(w, n, 0x90, 15, 0, 0xdc, 0xdd); }
bool yao_write_map(yao_writer *w, uint32_t n) { return yao__put_len(w, n, 0x80, 15, 0, 0xde, 0xdf); }
bool yao_write_raw(yao_writer *w, const void *data, size_t len) { return yao__put(w, data, len); }

/* ---- reader ---------------------------------------------------------------- */

yao_reader yao_reader_make(const void *data, size_t len) {
    yao_reader r;
    r.p = (const uint8_t *)data;
    r.end = r.p ? r.p + len : r.p;
    return r;
}

bool yao_reader_done(const yao_reader *r) { return r->p >= r->end; }

static uint64_t yao__be(const uint8_t *p, int size) {
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v = (v << 8) | p[i];
    return v;
}

/* Everything about the value header at the cursor. `size` is the header
   length; `extra` the body bytes that follow (str/bin/ext data, float and
   int payloads are inside `size`); `items` the values that follow (array:
   n, map: 2n). False if the header is malformed or truncated. */
typedef struct {
    yao_type type;
    size_t size;
    uint64_t extra;
    uint64_t items;
    uint64_t u; /* the integer / length / raw float bits */
    bool negative;
} yao__head;

static bool yao__header(const yao_reader *r, yao__head *h) {
    if (!r->p || r->p >= r->end) return false;
    const uint8_t *p = r->p;
    size_t avail = (size_t)(r->end - p);
    uint8_t m = p[0];
    int n = 0; /* bytes of the length / value field after the marker */
    h->size = 1;
    h->extra = 0;
    h->items = 0;
    h->u = 0;
    h->negative = false;
    if (m <= 0x7f) { h->type = YAO_INT; h->u = m; return true; }
    if (m >= 0xe0) { h->type = YAO_INT; h->u = (uint64_t)(int64_t)(int8_t)m; h->negative = true; return true; }
    if (m >= 0x80 && m <= 0x8f) { h->type = YAO_MAP; h->u = m & 0x0f; h->items = 2 * h->u; return true; }
    if (m >= 0x90 && m <= 0x9f) { h->type = YAO_ARRAY; h->u = m & 0x0f; h->items = h->u; return true; }
    if (m >= 0xa0 && m <= 0xbf) { h->type = YAO_STR; h->u = m & 0x1f; h->extra = h->u; return true; }
    switch (m) {
    case 0xc0: h->type = YAO_NIL; return true;
    case 0xc2: case 0xc3: h->type = YAO_BOOL; h->u = m == 0xc3; return true;
    case 0xc4: h->type = YAO_BIN; n = 1; break;
    case 0xc5: h->type = YAO_BIN; n = 2; break;
    case 0xc6: h->type = YAO_BIN; n = 4; break;
    case 0xc7: h->type = YAO_EXT; n = 1; break;
    case 0xc8: h->type = YAO_EXT; n = 2; break;
    case 0xc9: h->type = YAO_EXT; n = 4; break;
    case 0xca: h->type = YAO_FLOAT; n = 4; break;
    case 0xcb: h->type = YAO_FLOAT; n = 8; break;
    case 0xcc: h->type = YAO_INT; n = 1; break;
    case 0xcd: h->type = YAO_INT; n = 2; break;
    case 0xce: h->type = YAO_INT; n = 4; break;
    case 0xcf: h->type = YAO_INT; n = 8; break;
    case 0xd0: h->type = YAO_INT; n = 1; h->negative = true; break;
    case 0xd1: h->type = YAO_INT; n = 2; h->negative = true; break;
    case 0xd2: h->type = YAO_INT; n = 4; h->negative = true; break;
    case 0xd3: h->type = YAO_INT; n = 8; h->negative = true; break;
    case 0xd4: h->type = YAO_EXT; h->extra = 1 + 1; break;
    case 0xd5: h->type = YAO_EXT; h->extra = 1 + 2; break;
    case 0xd6: h->type = YAO_EXT; h->extra = 1 + 4; break;
    case 0xd7: h->type = YAO_EXT; h->extra = 1 + 8; break;
    case 0xd8: h->type = YAO_EXT; h->extra = 1 + 16; break;
    case 0xd9: h->type = YAO_STR; n = 1; break;
    case 0xda: h->type = YAO_STR; n = 2; break;
    case 0xdb: h->type = YAO_STR; n = 4; break;
    case 0xdc: h->type = YAO_ARRAY; n = 2; break;
    case 0xdd: h->type = YAO_ARRAY; n = 4; break;
    case 0xde: h->type = YAO_MAP; n = 2; break;
    case 0xdf: h->type = YAO_MAP; n = 4; break;
    default: return false; /* 0xc1 is never used */
    }
    if (avail < 1 + (size_t)n) return false;
    h->size = 1 + (size_t)n;
    h->u = yao__be(p + 1, n);
    switch (h->type) {
    case YAO_INT:
        if (h->negative) {
            /* sign-extend the n-byte two's complement value */
            if (n < 8 && (h->u >> (8 * n - 1)) & 1) h->u |= ~(uint64_t)0 << (8 * n);
            h->negative = (int64_t)h->u < 0;
        }
        break;
    case YAO_STR: case YAO_BIN: h->extra = h->u; break;
    case YAO_EXT: /* ext 8/16/32: the type byte, then data (fixext set extra above) */
        if (n) h->extra = h->u + 1;
        break;
    case YAO_ARRAY: h->items = h->u; break;
    case YAO_MAP: h->items = 2 * h->u; break;
    default: break;
    }
    return true;
}

/* The header plus its body bytes fit in the input. */
static bool yao__whole(const yao_reader *r, const yao__head *h) {
    size_t avail = (size_t)(r->end - r->p);
    return h->size <= avail && h->extra <= (uint64_t)(avail - h->size);
}

yao_type yao_peek(const yao_reader *r) {
    yao__head h;
    return yao__header(r, &h) ? h.type : YAO_INVALID;
}

static bool yao__expect(const yao_reader *r, yao_type type, yao__head *h) {
    return yao__header(r, h) && h->type == type && yao__whole(r, h);
}

bool yao_read_nil(yao_reader *r) {
    yao__head h;
    if (!yao__expect(r, YAO_NIL, &h)) return false;
    r->p += h.size;
    return true;
}

bool yao_read_bool(yao_reader *r, bool *out) {
    yao__head h;
    if (!yao__expect(r, YAO_BOOL, &h)) return false;
    *out = h.u != 0;
    r->p += h.size;
    return true;
}

bool yao_read_int(yao_reader *r, int64_t *out) {
    yao__head h;
    if (!yao__expect(r, YAO_INT, &h)) return false;
    if (!h.negative && h.u > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)h.u;
    r->p += h.size;
    return true;
}

bool yao_read_uint(yao_reader *r, uint64_t *out) {
    yao__head h;
    if (!yao__expect(r, YAO_INT, &h) || h.negative) return false;
    *out = h.u;
    r->p += h.size;
    return true;
}

static double yao__float_of(const yao__head *h) {
    if (h->size == 5) {
        uint32_t bits = (uint32_t)h->u;
        float f;
        yao__copy(&f, &bits, 4);
        return (double)f;
    }
    double d;
    yao__copy(&d, &h->u, 8);
    return d;
}

bool yao_read_float(yao_reader *r, double *out) {
    yao__head h;
    if (!yao__expect(r, YAO_FLOAT, &h)) return false;
    *out = yao__float_of(&h);
    r->p += h.size;
    return true;
}

bool yao_read_number(yao_reader *r, double *out) {
    yao__head h;
    if (!yao__header(r, &h) || !yao__whole(r, &h)) return false;
    if (h.type == YAO_FLOAT) *out = yao__float_of(&h);
    else if (h.type == YAO_INT) *out = h.negative ? (double)(int64_t)h.u : (double)h.u;
    else return false;
    r->p += h.size;
    return true;
}

static bool yao__read_bytes(yao_reader *r, yao_type type, const uint8_t **out, uint32_t *len) {
    yao__head h;
    if (!yao__expect(r, type, &h)) return false;
    *out = r->p + h.size;
    *len = (uint32_t)h.extra;
    r->p += h.size + (size_t)h.extra;
    return true;
}

bool yao_read_str(yao_reader *r, const char **out, uint32_t *len) {
    return yao__read_bytes(r, YAO_STR, (const uint8_t **)out, len);
}
bool yao_read_bin(yao_reader *r, const uint8_t **out, uint32_t *len) {
    return yao__read_bytes(r, YAO_BIN, out, len);
}

static bool yao__read_container(yao_reader *r, yao_type type, uint32_t *n) {
    yao__head h;
    if (!yao__expect(r, type, &h)) return false;
    /* Each item takes at least one byte: a count beyond the input is a lie. */
    if (h.items > (uint64_t)(r->end - r->p - h.size)) return false;
    *n = (uint32_t)h.u;
    r->p += h.size;
    return true;
}

bool yao_read_array(yao_reader *r, uint32_t *n) { return yao__read_container(r, YAO_ARRAY, n); }
bool yao_read_map(yao_reader *r, uint32_t *n) { return yao__read_container(r, YAO_MAP, n); }

bool yao_skip(yao_reader *r) {
    yao_reader c = *r;
    uint64_t pending = 1;
    while (pending) {
        yao__head h;
        if (!yao__header(&c, &h) || !yao__whole(&c, &h)) return false;
        c.p += h.size + (size_t)h.extra;
        pending--;
        /* Counts beyond the remaining bytes can never be satisfied. */
        if (h.items > (uint64_t)(c.end - c.p)) return false;
        pending += h.items;
    }
    r->p = c.p;
    return true;
}

bool yao_read_raw(yao_reader *r, const uint8_t **out, size_t *len) {
    const uint8_t *start = r->p;
    if (!yao_skip(r)) return false;
    *out = start;
    *len = (size_t)(r->p - start);
    return true;
}

bool yao_str_eq(const char *s, uint32_t len, const char *cstr) {
    for (uint32_t i = 0; i < len; i++)
        if (cstr[i] != s[i] || cstr[i] == 0) return false;
    return cstr[len] == 0;
}

int yao_map_find_n(const yao_reader *map, const char *key, size_t key_len, yao_reader *value) {
    yao_reader c = *map;
    uint32_t n;
    int found = 0;
    if (!yao_read_map(&c, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k;
        uint32_t klen;
        bool match = false;
        if (yao_read_str(&c, &k, &klen)) {
            match = klen == key_len;
            for (uint32_t j = 0; match && j < klen; j++) match = k[j] == key[j];
        } else if (!yao_skip(&c)) {
            return -1;
        }
        const uint8_t *start = c.p;
        if (!yao_skip(&c)) return -1;
        if (match) {
            value->p = start;
            value->end = c.p;
            found = 1;
        }
    }
    return found;
}

int yao_map_find(const yao_reader *map, const char *key, yao_reader *value) {
    return yao_map_find_n(map, key, yao__strlen(key), value);
}

/* ---- calls, processes, logs ---------------------------------------------- */

/* {"code": 500, "message": "out of memory"}: answered when even the error
   value cannot be allocated. */
static const uint8_t yao__oom_error[] = {
    0x82, 0xa4, 'c', 'o', 'd', 'e', 0xcd, 0x01, 0xf4, 0xa7, 'm', 'e', 's', 's', 'a', 'g', 'e',
    0xad, 'o', 'u', 't', ' ', 'o', 'f', ' ', 'm', 'e', 'm', 'o', 'r', 'y'};

int32_t yao_fail_n(yao_writer *out, int32_t code, const char *message, size_t len) {
    if (code == 0) code = 500;
    yao_writer_reset(out);
    yao_write_map(out, 2);
    yao_write_cstr(out, "code");
    yao_write_int(out, code);
    yao_write_cstr(out, "message");
    yao_write_str(out, message, len);
    return code;
}

int32_t yao_fail(yao_writer *out, int32_t code, const char *message) {
    return yao_fail_n(out, code, message, yao__strlen(message));
}

/* A bounded text buffer for yao_failf: writes past the end are dropped. */
typedef struct { char data[1024]; size_t len; } yao__text;

static void yao__text_put(yao__text *t, const char *s, size_t n) {
    while (n-- && t->len < sizeof t->data - 1) t->data[t->len++] = *s++;
}

static void yao__put_uint(yao__text *t, unsigned long long v, unsigned base) {
    char digits[24];
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) yao__text_put(t, &digits[--n], 1);
}

int32_t yao_failf(yao_writer *out, int32_t code, const char *format, ...) {
    yao__text t;
    va_list ap;
    t.len = 0;
    va_start(ap, format);
    for (const char *f = format; *f; f++) {
        if (*f != '%') { yao__text_put(&t, f, 1); continue; }
        const char *start = f++;
        int longs = 0, size = 0;
        while (*f == 'l') { longs++; f++; }
        if (*f == 'z') { size = 1; f++; }
        switch (*f) {
        case '%': yao__text_put(&t, "%", 1); break;
        case 'c': { char c = (char)va_arg(ap, int); yao__text_put(&t, &c, 1); break; }
        case 's': { const char *s = va_arg(ap, const char *); if (!s) s = "(null)"; yao__text_put(&t, s, yao__strlen(s)); break; }
        case 'd': case 'i': {
            long long v = size ? (long long)va_arg(ap, ptrdiff_t) : longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long magnitude = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            if (v < 0) yao__text_put(&t, "-", 1);
            yao__put_uint(&t, magnitude, 10);
            break;
        }
        case 'u': case 'x': {
            unsigned long long v = size ? (unsigned long long)va_arg(ap, size_t) : longs >= 2 ? va_arg(ap, unsigned long long) : longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            yao__put_uint(&t, v, *f == 'x' ? 16 : 10);
            break;
        }
        default: /* not a conversion this knows: copy it as it is */
            if (!*f) f--;
            yao__text_put(&t, start, (size_t)(f - start + 1));
        }
    }
    va_end(ap);
    return yao_fail_n(out, code, t.data, t.len);
}

static int64_t yao__pack(const void *ptr, size_t len, bool is_error) {
    uint64_t l = (uint64_t)len | (is_error ? 0x80000000u : 0);
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (l & 0xffffffffu));
}

/* True if `out` holds exactly the error value {code: code, ...}. */
static bool yao__is_error_value(const yao_writer *out, int32_t code) {
    yao_reader r = yao_reader_make(out->data, out->len), v;
    int64_t got;
    return yao_map_find(&r, "code", &v) == 1 && yao_read_int(&v, &got) && got == code && yao_skip(&r) &&
           yao_reader_done(&r);
}

int32_t yao_call(yao_fn fn, const uint8_t *args, size_t args_len, yao_writer *out) {
    yao_reader r = yao_reader_make(args, args ? args_len : 0);
    uint32_t argc = 0;
    int32_t code;
    if (!args || !args_len) code = fn(&r, 0, out);
    else if (!yao_read_array(&r, &argc)) return yao_fail(out, 400, "arguments are not a MessagePack array");
    else code = fn(&r, argc, out);
    /* A function that returned a code without yao_fail still raises an
       error value the host can read. */
    if (code != 0 && !out->failed && !yao__is_error_value(out, code)) yao_fail(out, code, "error");
    return code;
}

int64_t yao_dispatch(yao_fn fn, int32_t args_ptr, int32_t args_len) {
    yao_writer out;
    yao_writer_init(&out);
    int32_t code = yao_call(fn, (const uint8_t *)(uintptr_t)args_ptr, args_len > 0 ? (size_t)args_len : 0, &out);
    if (out.failed || out.len >= 0x80000000u) return yao__pack(yao__oom_error, sizeof yao__oom_error, true);
    if (out.len == 0) return 0; /* nil */
    return yao__pack(out.data, out.len, code != 0);
}

static const uint8_t yao__nil = 0xc0;

/* Fills `out` from an error value's bytes (taking ownership of them). */
/* Unused on the build machine unless a test calls it directly. */
__attribute__((unused)) static void yao__answer_error(yao_answer *out, uint8_t *data, uint32_t len) {
    yao_reader r = yao_reader_make(data, len), v;
    int64_t code = 500;
    const char *msg = "unreadable error value";
    uint32_t mlen = (uint32_t)yao__strlen(msg);
    out->data = data;
    out->len = len;
    if (yao_map_find(&r, "code", &v) == 1 && yao_read_int(&v, &code) && code > 0 && code <= 0x7fffffff) {
        const char *m;
        uint32_t ml;
        msg = "";
        mlen = 0;
        if (yao_map_find(&r, "message", &v) == 1 && yao_read_str(&v, &m, &ml)) {
            msg = m;
            mlen = ml;
        }
    } else {
        code = 500;
    }
    out->code = (int32_t)code;
    out->message = msg;
    out->message_len = mlen;
}

#ifdef __wasm__
/* Fills `out` from a packed result of any `yao` import. */
static int32_t yao__answer_packed(uint64_t raw, yao_answer *out) {
    uint8_t *ptr = (uint8_t *)(uintptr_t)(uint32_t)(raw >> 32);
    uint32_t len = (uint32_t)raw & 0x7fffffffu;
    bool is_error = ((uint32_t)raw & 0x80000000u) != 0;
    out->message = 0;
    out->message_len = 0;
    if (is_error) {
        yao__answer_error(out, ptr, ptr ? len : 0);
        return out->code;
    }
    out->code = 0;
    out->data = ptr;
    out->len = ptr ? len : 0;
    return 0;
}

/* The raw `yao` imports (SPEC §3, docs/ABI.md). */
__attribute__((import_module("yao"), import_name("store"))) int64_t yao__sys_store(
    const char *name, uint32_t name_len, const char *method, uint32_t method_len, const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("store_get"))) int64_t yao__sys_store_get(
    const char *name, uint32_t name_len, const char *key, uint32_t key_len);
__attribute__((import_module("yao"), import_name("store_set"))) int64_t yao__sys_store_set(
    const char *name, uint32_t name_len, const char *key, uint32_t key_len, const uint8_t *value, uint32_t value_len,
    int64_t ttl_seconds);
__attribute__((import_module("yao"), import_name("store_del"))) int64_t yao__sys_store_del(
    const char *name, uint32_t name_len, const char *key, uint32_t key_len);
__attribute__((import_module("yao"), import_name("fs"))) int64_t yao__sys_fs(
    const char *root, uint32_t root_len, const char *method, uint32_t method_len, const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("http"))) int64_t yao__sys_http(
    const char *method, uint32_t method_len, const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("query"))) int64_t yao__sys_query(const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("context"))) int64_t yao__sys_context(void);
__attribute__((import_module("yao"), import_name("tasks"))) int64_t yao__sys_tasks(
    const char *method, uint32_t method_len, const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("sleep"))) int64_t yao__sys_sleep(int64_t ms);

#define YAO__LEN(s) (uint32_t)yao__strlen(s)
#define YAO__ARGS(a, n) (a) ? (a) : &yao__no_args, (a) && (n) ? (uint32_t)(n) : 1u
static const uint8_t yao__no_args = 0x90;

int32_t yao_store(const char *name, const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_store(name, YAO__LEN(name), method, YAO__LEN(method), YAO__ARGS(args, args_len)), out);
}
int32_t yao_store_get(const char *name, const char *key, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_store_get(name, YAO__LEN(name), key, YAO__LEN(key)), out);
}
int32_t yao_store_set(const char *name, const char *key, const uint8_t *value, size_t value_len,
                      int64_t ttl_seconds, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_store_set(name, YAO__LEN(name), key, YAO__LEN(key), value,
                                                            (uint32_t)value_len, ttl_seconds), out);
}
int32_t yao_store_del(const char *name, const char *key, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_store_del(name, YAO__LEN(name), key, YAO__LEN(key)), out);
}
int32_t yao_fs(const char *root, const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_fs(root, YAO__LEN(root), method, YAO__LEN(method), YAO__ARGS(args, args_len)), out);
}
int32_t yao_http(const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_http(method, YAO__LEN(method), YAO__ARGS(args, args_len)), out);
}
int32_t yao_query(const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_query(YAO__ARGS(args, args_len)), out);
}
int32_t yao_context(yao_answer *out) { return yao__answer_packed((uint64_t)yao__sys_context(), out); }
int32_t yao_tasks(const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_tasks(method, YAO__LEN(method), YAO__ARGS(args, args_len)), out);
}
int32_t yao_sleep(int64_t ms, yao_answer *out) {
    return yao__answer_packed((uint64_t)yao__sys_sleep(ms), out);
}
#undef YAO__LEN
#undef YAO__ARGS
__attribute__((import_module("yao"), import_name("process"))) int64_t yao__sys_process(
    const char *name, uint32_t name_len, const uint8_t *args, uint32_t args_len);
__attribute__((import_module("yao"), import_name("log"))) void yao__sys_log(int32_t level, const char *msg,
                                                                             uint32_t len);

int32_t yao_process(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    static const uint8_t no_args = 0x90;
    if (!args || !args_len) {
        args = &no_args;
        args_len = 1;
    }
    uint64_t raw = (uint64_t)yao__sys_process(name, (uint32_t)yao__strlen(name), args, (uint32_t)args_len);
    uint8_t *ptr = (uint8_t *)(uintptr_t)(uint32_t)(raw >> 32);
    uint32_t len = (uint32_t)raw & 0x7fffffffu;
    bool is_error = ((uint32_t)raw & 0x80000000u) != 0;
    out->message = 0;
    out->message_len = 0;
    if (is_error) {
        yao__answer_error(out, ptr, ptr ? len : 0);
        return out->code;
    }
    out->code = 0;
    out->data = ptr;
    out->len = ptr ? len : 0;
    return 0;
}

void yao_log(int32_t level, const char *msg, size_t len) { yao__sys_log(level, msg, (uint32_t)len); }
#else
static yao_test_process_fn yao__test_process;
static yao_test_log_fn yao__test_log;
void yao_test_set_process(yao_test_process_fn fn) { yao__test_process = fn; }
void yao_test_set_log(yao_test_log_fn fn) { yao__test_log = fn; }

int32_t yao_process(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    static const uint8_t no_args = 0x90;
    static const char none[] = "no process hook outside wasm (yao_test_set_process)";
    if (!args || !args_len) {
        args = &no_args;
        args_len = 1;
    }
    out->code = 500;
    out->data = 0;
    out->len = 0;
    out->message = none;
    out->message_len = sizeof none - 1;
    if (yao__test_process) yao__test_process(name, args, args_len, out);
    if (out->code == 0) {
        out->message = 0;
        out->message_len = 0;
    }
    return out->code;
}

void yao_log(int32_t level, const char *msg, size_t len) {
    if (yao__test_log) yao__test_log(level, msg, len);
}

/* Outside wasm the host API goes to the process hook under the names of the
   Yao processes it mirrors: stores.<name>.<Method>, fs.<root>.<Method>,
   http.<Method>, query.Run, tasks.<Method> (yao_sleep: tasks.Sleep [ms]). */
static int32_t yao__test_call(const char *a, const char *b, const char *c, const uint8_t *args, size_t args_len,
                              yao_answer *out) {
    size_t la = yao__strlen(a), lb = b ? yao__strlen(b) : 0, lc = c ? yao__strlen(c) : 0;
    char *name = (char *)yao_malloc(la + lb + lc + 3);
    if (!name) {
        out->code = 500;
        out->data = 0;
        out->len = 0;
        out->message = "out of memory";
        out->message_len = 13;
        return 500;
    }
    size_t at = 0;
    yao__copy(name, a, la), at = la;
    if (b) name[at++] = '.', yao__copy(name + at, b, lb), at += lb;
    if (c) name[at++] = '.', yao__copy(name + at, c, lc), at += lc;
    name[at] = 0;
    int32_t code = yao_process(name, args, args_len, out);
    yao_mfree(name);
    return code;
}

int32_t yao_store(const char *name, const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__test_call("stores", name, method, args, args_len, out);
}
static int32_t yao__test_store_key(const char *name, const char *method, const char *key, const uint8_t *value,
                                   size_t value_len, int64_t ttl, yao_answer *out) {
    yao_writer w;
    yao_writer_init(&w);
    yao_write_array(&w, value ? 3 : 1);
    yao_write_cstr(&w, key);
    if (value) {
        yao__put(&w, value, value_len);
        yao_write_int(&w, ttl > 0 ? ttl : 0);
    }
    int32_t code = yao__test_call("stores", name, method, w.data, w.len, out);
    yao_writer_free(&w);
    return code;
}
int32_t yao_store_get(const char *name, const char *key, yao_answer *out) {
    return yao__test_store_key(name, "Get", key, 0, 0, 0, out);
}
int32_t yao_store_set(const char *name, const char *key, const uint8_t *value, size_t value_len,
                      int64_t ttl_seconds, yao_answer *out) {
    return yao__test_store_key(name, "Set", key, value, value_len, ttl_seconds, out);
}
int32_t yao_store_del(const char *name, const char *key, yao_answer *out) {
    return yao__test_store_key(name, "Del", key, 0, 0, 0, out);
}
int32_t yao_fs(const char *root, const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__test_call("fs", root, method, args, args_len, out);
}
int32_t yao_http(const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__test_call("http", method, 0, args, args_len, out);
}
int32_t yao_query(const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__test_call("query", "Run", 0, args, args_len, out);
}
int32_t yao_context(yao_answer *out) { return yao_process("yao.context", 0, 0, out); }
int32_t yao_tasks(const char *method, const uint8_t *args, size_t args_len, yao_answer *out) {
    return yao__test_call("tasks", method, 0, args, args_len, out);
}
int32_t yao_sleep(int64_t ms, yao_answer *out) {
    yao_writer w;
    yao_writer_init(&w);
    yao_write_array(&w, 1);
    yao_write_int(&w, ms);
    int32_t code = yao__test_call("tasks", "Sleep", 0, w.data, w.len, out);
    yao_writer_free(&w);
    return code;
}
#endif

yao_reader yao_answer_reader(const yao_answer *a) {
    if (a->code != 0 || !a->data || !a->len) return yao_reader_make(&yao__nil, 1);
    return yao_reader_make(a->data, a->len);
}

void yao_answer_free(yao_answer *a) {
    yao_mfree(a->data);
    a->data = 0;
    a->len = 0;
    a->message = 0;
    a->message_len = 0;
}

int32_t yao_http_post_files(const char *url, const uint8_t *fields, size_t fields_len, const yao_file *files,
                            size_t n_files, yao_answer *out) {
    const char *bad = 0;
    int32_t code = 400;
    yao_reader one = yao_reader_make(fields, fields ? fields_len : 0);
    if (fields && fields_len && (!yao_skip(&one) || !yao_reader_done(&one)))
        bad = "yao_http_post_files: fields must be one encoded value";
    else if ((n_files && !files) || n_files != (uint32_t)n_files)
        bad = "yao_http_post_files: bad files";
    yao_writer a;
    yao_writer_init(&a);
    if (!bad) {
        yao_write_array(&a, 3);
        yao_write_cstr(&a, url);
        if (fields && fields_len) yao_write_raw(&a, fields, fields_len);
        else yao_write_nil(&a);
        if (n_files) {
            yao_write_map(&a, (uint32_t)n_files);
            for (size_t i = 0; i < n_files; i++) {
                yao_write_cstr(&a, files[i].field);
                yao_write_cstr(&a, files[i].path);
            }
        } else {
            yao_write_nil(&a);
        }
        if (a.failed) bad = "out of memory", code = 500;
    }
    if (bad) {
        yao_writer_free(&a);
        out->code = code;
        out->data = 0;
        out->len = 0;
        out->message = bad;
        out->message_len = (uint32_t)yao__strlen(bad);
        return code;
    }
    code = yao_http("Post", a.data, a.len, out);
    yao_writer_free(&a);
    return code;
}

/* ---- Store: Incr and the list methods, over yao_store ------------------- */

/* Sets `out` to an error answered before any call (no data to free). */
static int32_t yao__refuse(yao_answer *out, int32_t code, const char *message) {
    out->code = code;
    out->data = 0;
    out->len = 0;
    out->message = message;
    out->message_len = (uint32_t)yao__strlen(message);
    return code;
}

/* True when [p, p + len) is exactly `n` complete values. */
static bool yao__values_are(const uint8_t *p, size_t len, uint32_t n) {
    yao_reader r = yao_reader_make(p, p ? len : 0);
    for (uint32_t i = 0; i < n; i++)
        if (!yao_skip(&r)) return false;
    return yao_reader_done(&r);
}

/* Sends the args array in `a` (freed here) as store method `method`. */
static int32_t yao__store_send(const char *name, const char *method, yao_writer *a, yao_answer *out) {
    if (a->failed) {
        yao_writer_free(a);
        return yao__refuse(out, 500, "out of memory");
    }
    int32_t code = yao_store(name, method, a->data, a->len, out);
    yao_writer_free(a);
    return code;
}

/* [key, int...]: Pop, ArrayGet, ArraySlice, ArrayPage, ArrayLen, ArrayAll. */
static int32_t yao__store_ints(const char *name, const char *method, const char *key, uint32_t n, int64_t x, int64_t y,
                               yao_answer *out) {
    yao_writer a;
    yao_writer_init(&a);
    yao_write_array(&a, 1 + n);
    yao_write_cstr(&a, key);
    if (n > 0) yao_write_int(&a, x);
    if (n > 1) yao_write_int(&a, y);
    return yao__store_send(name, method, &a, out);
}

/* [key, v1, ..., vn], or [key, [v1, ..., vn]] when `one_array`. */
static int32_t yao__store_values(const char *name, const char *method, const char *key, const uint8_t *values,
                                 size_t values_len, uint32_t n, bool one_array, const char *bad, yao_answer *out) {
    if (!yao__values_are(values, values_len, n)) return yao__refuse(out, 400, bad);
    yao_writer a;
    yao_writer_init(&a);
    if (one_array) yao_write_array(&a, 2), yao_write_cstr(&a, key), yao_write_array(&a, n);
    else yao_write_array(&a, 1 + n), yao_write_cstr(&a, key);
    if (n) yao_write_raw(&a, values, values_len);
    return yao__store_send(name, method, &a, out);
}

int32_t yao_store_incr(const char *name, const char *key, int64_t by, yao_answer *out) {
    return yao__store_ints(name, "Incr", key, 1, by, 0, out);
}
int32_t yao_store_incr_float(const char *name, const char *key, double by, yao_answer *out) {
    yao_writer a;
    yao_writer_init(&a);
    yao_write_array(&a, 2);
    yao_write_cstr(&a, key);
    yao_write_float(&a, by);
    return yao__store_send(name, "Incr", &a, out);
}
int32_t yao_store_push(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                       yao_answer *out) {
    return yao__store_values(name, "Push", key, values, values_len, n, false,
                             "yao_store_push: values must be exactly n encoded values", out);
}
int32_t yao_store_add_to_set(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                             yao_answer *out) {
    return yao__store_values(name, "AddToSet", key, values, values_len, n, false,
                             "yao_store_add_to_set: values must be exactly n encoded values", out);
}
int32_t yao_store_pop(const char *name, const char *key, int64_t position, yao_answer *out) {
    return yao__store_ints(name, "Pop", key, 1, position, 0, out);
}
int32_t yao_store_pull(const char *name, const char *key, const uint8_t *value, size_t value_len, yao_answer *out) {
    return yao__store_values(name, "Pull", key, value, value_len, 1, false,
                             "yao_store_pull: value must be one encoded value", out);
}
int32_t yao_store_pull_all(const char *name, const char *key, const uint8_t *values, size_t values_len, uint32_t n,
                           yao_answer *out) {
    /* Always [key, [values]]: sent flat, one value that is itself an array
       would be read as the list of values. */
    return yao__store_values(name, "PullAll", key, values, values_len, n, true,
                             "yao_store_pull_all: values must be exactly n encoded values", out);
}
int32_t yao_store_array_len(const char *name, const char *key, yao_answer *out) {
    return yao__store_ints(name, "ArrayLen", key, 0, 0, 0, out);
}
int32_t yao_store_array_get(const char *name, const char *key, int64_t index, yao_answer *out) {
    return yao__store_ints(name, "ArrayGet", key, 1, index, 0, out);
}
int32_t yao_store_array_set(const char *name, const char *key, int64_t index, const uint8_t *value, size_t value_len,
                            yao_answer *out) {
    if (!yao__values_are(value, value_len, 1))
        return yao__refuse(out, 400, "yao_store_array_set: value must be one encoded value");
    yao_writer a;
    yao_writer_init(&a);
    yao_write_array(&a, 3);
    yao_write_cstr(&a, key);
    yao_write_int(&a, index);
    yao_write_raw(&a, value, value_len);
    return yao__store_send(name, "ArraySet", &a, out);
}
int32_t yao_store_array_slice(const char *name, const char *key, int64_t skip, int64_t limit, yao_answer *out) {
    return yao__store_ints(name, "ArraySlice", key, 2, skip, limit, out);
}
int32_t yao_store_array_page(const char *name, const char *key, int64_t page, int64_t page_size, yao_answer *out) {
    return yao__store_ints(name, "ArrayPage", key, 2, page, page_size, out);
}
int32_t yao_store_array_all(const char *name, const char *key, yao_answer *out) {
    return yao__store_ints(name, "ArrayAll", key, 0, 0, 0, out);
}

void yao_log_trace(const char *msg) { yao_log(YAO_TRACE, msg, yao__strlen(msg)); }
void yao_log_debug(const char *msg) { yao_log(YAO_DEBUG, msg, yao__strlen(msg)); }
void yao_log_info(const char *msg) { yao_log(YAO_INFO, msg, yao__strlen(msg)); }
void yao_log_warn(const char *msg) { yao_log(YAO_WARN, msg, yao__strlen(msg)); }
void yao_log_error(const char *msg) { yao_log(YAO_ERROR, msg, yao__strlen(msg)); }

#endif /* YAO_IMPLEMENTATION_DONE */
#endif /* YAO_IMPLEMENTATION */
