/* The example app's `user` script in C (scripts.c.user.*). The behaviour of
   each function is the same in every language: tests/conformance/cases.json. */
#define YAO_IMPLEMENTATION
#include "yao.h"

#ifndef YAO_LANG
#define YAO_LANG "c"
#endif

/* True if the `len` bytes at `s` contain `c`. */
static bool contains(const char *s, uint32_t len, char c) {
    for (uint32_t i = 0; i < len; i++)
        if (s[i] == c) return true;
    return false;
}

/* Check(payload) -> {"valid": bool, "errors": [string]} */
static int32_t check(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_reader payload = *args, v;
    if (argc < 1 || yao_peek(&payload) != YAO_MAP || !yao_skip(args))
        return yao_fail(out, 400, "payload must be a map");
    const char *errors[3];
    uint32_t count = 0;
    const char *s;
    uint32_t n;
    if (yao_map_find(&payload, "name", &v) != 1 || !yao_read_str(&v, &s, &n) || n == 0)
        errors[count++] = "name is required";
    if (yao_map_find(&payload, "email", &v) != 1 || !yao_read_str(&v, &s, &n) || !contains(s, n, '@'))
        errors[count++] = "email is invalid";
    if (yao_map_find(&payload, "age", &v) == 1 && yao_peek(&v) != YAO_NIL) {
        uint64_t age;
        if (!yao_read_uint(&v, &age) || age > 150) errors[count++] = "age is out of range";
    }
    yao_write_map(out, 2);
    yao_write_cstr(out, "valid");
    yao_write_bool(out, count == 0);
    yao_write_cstr(out, "errors");
    yao_write_array(out, count);
    for (uint32_t i = 0; i < count; i++) yao_write_cstr(out, errors[i]);
    return 0;
}
YAO_EXPORT(Check, check)

/* BeforeSave(payload): the stored user (models.user.Find [payload.id]) with
   the payload's keys laid over it. */
static int32_t before_save(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_reader payload = *args, id, found;
    if (argc < 1 || yao_peek(&payload) != YAO_MAP) return yao_fail(out, 400, "payload must be a map");
    yao_writer find_args = {0};
    yao_write_array(&find_args, 1);
    const uint8_t *raw;
    size_t raw_len;
    if (yao_map_find(&payload, "id", &id) == 1 && yao_read_raw(&id, &raw, &raw_len))
        yao_write_raw(&find_args, raw, raw_len);
    else
        yao_write_nil(&find_args);
    if (find_args.failed) return yao_fail(out, 500, "out of memory");
    yao_answer answer;
    if (yao_process("models.user.Find", find_args.data, find_args.len, &answer) != 0)
        return yao_fail_n(out, answer.code, answer.message, answer.message_len);
    found = yao_answer_reader(&answer);
    uint32_t found_n, payload_n;
    yao_reader f = found, p = payload;
    if (!yao_read_map(&f, &found_n) || !yao_read_map(&p, &payload_n))
        return yao_fail(out, 500, "models.user.Find did not return a map");
    /* Count the stored keys the payload does not override. */
    uint32_t kept = 0;
    for (int pass = 0; pass < 2; pass++) {
        f = found;
        yao_read_map(&f, &found_n);
        if (pass == 1) yao_write_map(out, kept + payload_n);
        for (uint32_t i = 0; i < found_n; i++) {
            const uint8_t *key, *value;
            size_t key_len, value_len;
            yao_reader k = f, ignored;
            const char *name;
            uint32_t name_len;
            bool overridden = false;
            if (yao_read_str(&k, &name, &name_len))
                overridden = yao_map_find_n(&payload, name, name_len, &ignored) == 1;
            if (!yao_read_raw(&f, &key, &key_len) || !yao_read_raw(&f, &value, &value_len))
                return yao_fail(out, 500, "models.user.Find returned a malformed map");
            if (overridden) continue;
            if (pass == 0) kept++;
            else {
                yao_write_raw(out, key, key_len);
                yao_write_raw(out, value, value_len);
            }
        }
    }
    for (uint32_t i = 0; i < 2 * payload_n; i++) {
        const uint8_t *item;
        size_t item_len;
        if (!yao_read_raw(&p, &item, &item_len)) return yao_fail(out, 400, "payload is malformed");
        yao_write_raw(out, item, item_len);
    }
    yao_answer_free(&answer);
    yao_writer_free(&find_args);
    return 0;
}
YAO_EXPORT(BeforeSave, before_save)

static int32_t deny(yao_reader *args, uint32_t argc, yao_writer *out) {
    (void)args;
    (void)argc;
    return yao_fail(out, 403, "denied");
}
YAO_EXPORT(Deny, deny)

/* Log(msg): one record at each level, then nil. */
static int32_t log_all(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *msg;
    uint32_t len;
    if (argc < 1 || !yao_read_str(args, &msg, &len)) return yao_fail(out, 400, "Log expects a string");
    for (int32_t level = YAO_TRACE; level <= YAO_ERROR; level++) yao_log(level, msg, len);
    return 0;
}
YAO_EXPORT(Log, log_all)

/* Echo(...args): the args array, unchanged. */
static int32_t echo(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_write_array(out, argc);
    for (uint32_t i = 0; i < argc; i++) {
        const uint8_t *raw;
        size_t len;
        if (!yao_read_raw(args, &raw, &len)) return yao_fail(out, 400, "malformed arguments");
        yao_write_raw(out, raw, len);
    }
    return 0;
}
YAO_EXPORT(Echo, echo)

static int32_t add(yao_reader *args, uint32_t argc, yao_writer *out) {
    int64_t a, b;
    if (argc < 2 || !yao_read_int(args, &a) || !yao_read_int(args, &b) ||
        __builtin_add_overflow(a, b, &a))
        return yao_fail(out, 400, "Add expects two integers");
    yao_write_int(out, a);
    return 0;
}
YAO_EXPORT(Add, add)

/* Nested(payload): this language's own Check, through the runtime. */
static int32_t nested(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_writer call = {0};
    const uint8_t *raw;
    size_t len;
    yao_write_array(&call, 1);
    if (argc >= 1 && yao_read_raw(args, &raw, &len)) yao_write_raw(&call, raw, len);
    else yao_write_nil(&call);
    yao_answer answer;
    if (yao_process("scripts." YAO_LANG ".user.Check", call.data, call.len, &answer) != 0)
        return yao_fail_n(out, answer.code, answer.message, answer.message_len);
    yao_reader r = yao_answer_reader(&answer), v;
    bool valid;
    if (yao_map_find(&r, "valid", &v) != 1 || !yao_read_bool(&v, &valid))
        return yao_fail(out, 500, "Check answered without a valid flag");
    yao_write_bool(out, valid);
    yao_answer_free(&answer);
    yao_writer_free(&call);
    return 0;
}
YAO_EXPORT(Nested, nested)

/* ---- the host API: store, fs, http, query (docs/ABI.md §5-§8) ---------- */

/* Writes `key` and then an answer's result (nil when empty) into the map `out`. */
static void put_answer(yao_writer *out, const char *key, const yao_answer *a) {
    yao_write_cstr(out, key);
    if (a->len) yao_write_raw(out, a->data, a->len);
    else yao_write_nil(out);
}

/* Writes an answer's result (nil when empty) as the call's result, and frees it. */
static void put_raw_answer(yao_writer *out, yao_answer *a) {
    if (a->len) yao_write_raw(out, a->data, a->len);
    else yao_write_nil(out);
    yao_answer_free(a);
}

/* Passes an error answer on with its code and message, freeing what it can. */
static int32_t pass_on(yao_writer *out, yao_answer *a, yao_writer *args) {
    int32_t code = yao_fail_n(out, a->code, a->message, a->message_len);
    yao_answer_free(a);
    if (args) yao_writer_free(args);
    return code;
}

/* One store call with the args a writer holds (reset afterwards); the answer
   goes under `key` in `out` when key is not NULL. */
static int32_t store_step(const char *name, const char *method, yao_writer *args, const char *key, yao_writer *out) {
    yao_answer a;
    if (yao_store(name, method, args->data, args->len, &a) != 0) return pass_on(out, &a, 0);
    if (key) put_answer(out, key, &a);
    yao_answer_free(&a);
    yao_writer_reset(args);
    return 0;
}

/* StoreRoundTrip(store, key, value): every Store method, in order, on an
   emptied store. */
static int32_t store_round_trip(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *s, *k;
    uint32_t sl, kl;
    const uint8_t *value;
    size_t vlen;
    char name[129], key[256];
    if (argc < 3 || !yao_read_str(args, &s, &sl) || !yao_read_str(args, &k, &kl) || sl > 128 || kl > 255 ||
        !yao_read_raw(args, &value, &vlen))
        return yao_fail(out, 400, "StoreRoundTrip expects a store name, a key and a value");
    for (uint32_t i = 0; i < sl; i++) name[i] = s[i];
    name[sl] = 0;
    for (uint32_t i = 0; i < kl; i++) key[i] = k[i];
    key[kl] = 0;
    yao_writer a = {0};
    yao_answer r;
    int32_t code;
    yao_write_array(&a, 0);
    if ((code = store_step(name, "Clear", &a, 0, out))) return code;
    if (yao_store_set(name, key, value, vlen, 60, &r) != 0) return pass_on(out, &r, &a);
    yao_answer_free(&r);
    yao_write_map(out, 9);
    if (yao_store_get(name, key, &r) != 0) return pass_on(out, &r, &a);
    put_answer(out, "get", &r);
    yao_answer_free(&r);
    yao_write_array(&a, 1), yao_write_cstr(&a, key);
    if ((code = store_step(name, "Has", &a, "has", out))) return code;
    yao_write_array(&a, 2), yao_write_cstr(&a, key), yao_write_cstr(&a, "other");
    if ((code = store_step(name, "GetSet", &a, "kept", out))) return code;
    yao_write_array(&a, 2), yao_write_cstr(&a, "fresh"), yao_write_cstr(&a, "new");
    if ((code = store_step(name, "GetSet", &a, "fresh", out))) return code;
    yao_write_array(&a, 0);
    if ((code = store_step(name, "Keys", &a, "keys", out))) return code;
    yao_write_array(&a, 0);
    if ((code = store_step(name, "Len", &a, "len", out))) return code;
    yao_write_array(&a, 1), yao_write_cstr(&a, key);
    if ((code = store_step(name, "GetDel", &a, "taken", out))) return code;
    if (yao_store_get(name, key, &r) != 0) return pass_on(out, &r, &a);
    put_answer(out, "after", &r);
    yao_answer_free(&r);
    if (yao_store_del(name, "fresh", &r) != 0) return pass_on(out, &r, &a);
    yao_answer_free(&r);
    yao_write_array(&a, 1), yao_write_cstr(&a, "fresh");
    if ((code = store_step(name, "Has", &a, "has_after", out))) return code;
    yao_writer_free(&a);
    return 0;
}
YAO_EXPORT(StoreRoundTrip, store_round_trip)

/* StoreLists(store, key): the list methods and Incr, in order, on `key` and
   `<key>:n` (both removed first and left absent). past_end and empty_pop
   are the codes of the two errors the steps expect. */
static int32_t store_lists(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *s, *k;
    uint32_t sl, kl;
    char name[129], key[256], counter[259];
    if (argc < 2 || !yao_read_str(args, &s, &sl) || !yao_read_str(args, &k, &kl) || sl > 128 || kl > 255)
        return yao_fail(out, 400, "StoreLists expects a store name and a key");
    for (uint32_t i = 0; i < sl; i++) name[i] = s[i];
    name[sl] = 0;
    for (uint32_t i = 0; i < kl; i++) key[i] = counter[i] = k[i];
    key[kl] = 0;
    counter[kl] = ':', counter[kl + 1] = 'n', counter[kl + 2] = 0;
    yao_writer v = {0}; /* the values of the next step, encoded back to back */
    yao_answer r;
/* DO: one step, its answer dropped; PUT: its answer under `field` in `out`.
   An error answer passes on with its code. */
#define DO(call)                                                    \
    do {                                                            \
        if ((call) != 0) return pass_on(out, &r, &v);               \
        yao_answer_free(&r);                                        \
    } while (0)
#define PUT(field, call)                                            \
    do {                                                            \
        if ((call) != 0) return pass_on(out, &r, &v);               \
        put_answer(out, field, &r);                                 \
        yao_answer_free(&r);                                        \
    } while (0)
    DO(yao_store_del(name, key, &r));
    DO(yao_store_del(name, counter, &r));
    yao_write_int(&v, 1), yao_write_cstr(&v, "two");
    DO(yao_store_push(name, key, v.data, v.len, 2, &r));
    yao_writer_reset(&v), yao_write_int(&v, 3);
    DO(yao_store_push(name, key, v.data, v.len, 1, &r));
    yao_writer_reset(&v), yao_write_cstr(&v, "two"), yao_write_int(&v, 4), yao_write_int(&v, 4);
    DO(yao_store_add_to_set(name, key, v.data, v.len, 3, &r));
    yao_write_map(out, 12);
    PUT("len", yao_store_array_len(name, key, &r));
    PUT("all", yao_store_array_all(name, key, &r));
    PUT("page", yao_store_array_page(name, key, 2, 3, &r));
    PUT("slice", yao_store_array_slice(name, key, 1, 2, &r));
    PUT("get", yao_store_array_get(name, key, 1, &r));
    yao_write_cstr(out, "past_end"), yao_write_int(out, yao_store_array_get(name, key, 9, &r));
    yao_answer_free(&r);
    yao_writer_reset(&v), yao_write_cstr(&v, "one");
    DO(yao_store_array_set(name, key, 0, v.data, v.len, &r));
    PUT("last", yao_store_pop(name, key, 1, &r));
    PUT("first", yao_store_pop(name, key, -1, &r));
    yao_writer_reset(&v), yao_write_int(&v, 3);
    DO(yao_store_pull(name, key, v.data, v.len, &r));
    yao_writer_reset(&v), yao_write_cstr(&v, "two");
    DO(yao_store_pull_all(name, key, v.data, v.len, 1, &r));
    PUT("rest", yao_store_array_all(name, key, &r));
    PUT("len_after", yao_store_array_len(name, key, &r));
    yao_write_cstr(out, "empty_pop"), yao_write_int(out, yao_store_pop(name, key, 1, &r));
    yao_answer_free(&r);
    DO(yao_store_incr(name, counter, 1, &r));
    PUT("count", yao_store_incr(name, counter, 4, &r));
    DO(yao_store_del(name, counter, &r));
#undef DO
#undef PUT
    yao_writer_free(&v);
    return 0;
}
YAO_EXPORT(StoreLists, store_lists)

/* One fs call under "data" with args [p1, p2?] (p2 a string, or raw bytes
   when raw is set); the answer goes under `key` in `out` when key is set. */
static int32_t fs_step(const char *method, const char *p1, const char *p2, const uint8_t *raw, size_t raw_len,
                       const char *key, yao_writer *out) {
    yao_writer a = {0};
    yao_answer r;
    yao_write_array(&a, p2 || raw ? 2 : 1);
    yao_write_cstr(&a, p1);
    if (p2) yao_write_cstr(&a, p2);
    else if (raw) yao_write_bin(&a, raw, raw_len);
    if (yao_fs("data", method, a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
    if (key) put_answer(out, key, &r);
    yao_answer_free(&r);
    yao_writer_free(&a);
    return 0;
}

/* FsRoundTrip(dir, text): every FS method under the root "data". */
static int32_t fs_round_trip(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *d, *t;
    uint32_t dl, tl;
    char dir[200], text[1024], file[240], copy[240], moved[240], sub[240], raw[240];
    if (argc < 2 || !yao_read_str(args, &d, &dl) || !yao_read_str(args, &t, &tl) || dl > 199 || tl > 1023)
        return yao_fail(out, 400, "FsRoundTrip expects a folder and a text");
    for (uint32_t i = 0; i < dl; i++) dir[i] = d[i];
    dir[dl] = 0;
    for (uint32_t i = 0; i < tl; i++) text[i] = t[i];
    text[tl] = 0;
    char *paths[] = {file, copy, moved, sub, raw};
    const char *tails[] = {"/note.txt", "/copy.txt", "/moved.txt", "/sub", "/sub/raw.bin"};
    for (int p = 0; p < 5; p++) {
        uint32_t at = 0;
        for (uint32_t i = 0; i < dl; i++) paths[p][at++] = dir[i];
        for (const char *c = tails[p]; *c; c++) paths[p][at++] = *c;
        paths[p][at] = 0;
    }
    static const uint8_t bang[] = {'!'}, bytes[] = {0, 1, 2};
    int32_t code;
    yao_write_map(out, 10);
    if ((code = fs_step("MkdirAll", dir, 0, 0, 0, 0, out))) return code;
    if ((code = fs_step("WriteFile", file, text, 0, 0, "written", out))) return code;
    if ((code = fs_step("AppendFile", file, 0, bang, 1, "appended", out))) return code;
    if ((code = fs_step("ReadFile", file, 0, 0, 0, "read", out))) return code;
    if ((code = fs_step("Exists", file, 0, 0, 0, "exists", out))) return code;
    if ((code = fs_step("IsFile", file, 0, 0, 0, "is_file", out))) return code;
    if ((code = fs_step("IsDir", dir, 0, 0, 0, "is_dir", out))) return code;
    if ((code = fs_step("Size", file, 0, 0, 0, "size", out))) return code;
    if ((code = fs_step("Copy", file, copy, 0, 0, 0, out))) return code;
    if ((code = fs_step("Move", copy, moved, 0, 0, 0, out))) return code;
    if ((code = fs_step("ReadDir", dir, 0, 0, 0, "list", out))) return code;
    if ((code = fs_step("Remove", moved, 0, 0, 0, 0, out))) return code;
    if ((code = fs_step("Mkdir", sub, 0, 0, 0, 0, out))) return code;
    if ((code = fs_step("WriteFileBuffer", raw, 0, bytes, 3, 0, out))) return code;
    {
        yao_writer a = {0};
        yao_answer r;
        yao_write_array(&a, 2), yao_write_cstr(&a, dir), yao_write_bool(&a, true);
        if (yao_fs("data", "ReadDir", a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
        put_answer(out, "tree", &r);
        yao_answer_free(&r);
        yao_writer_free(&a);
    }
    if ((code = fs_step("RemoveAll", dir, 0, 0, 0, 0, out))) return code;
    {
        yao_writer a = {0};
        yao_answer r;
        bool exists = true;
        yao_write_array(&a, 1), yao_write_cstr(&a, dir);
        if (yao_fs("data", "Exists", a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
        yao_reader v = yao_answer_reader(&r);
        yao_read_bool(&v, &exists);
        yao_write_cstr(out, "gone");
        yao_write_bool(out, !exists);
        yao_answer_free(&r);
        yao_writer_free(&a);
    }
    return 0;
}
YAO_EXPORT(FsRoundTrip, fs_round_trip)

/* FsRead(path): the text of a file under "data" (errors pass on). */
static int32_t fs_read(yao_reader *args, uint32_t argc, yao_writer *out) {
    const uint8_t *raw;
    size_t len;
    yao_answer r;
    if (argc < 1 || !yao_read_raw(args, &raw, &len)) return yao_fail(out, 400, "FsRead expects a path");
    yao_writer a = {0};
    yao_write_array(&a, 1), yao_write_raw(&a, raw, len);
    if (yao_fs("data", "ReadFile", a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
    yao_write_raw(out, r.data, r.len);
    yao_answer_free(&r);
    yao_writer_free(&a);
    return 0;
}
YAO_EXPORT(FsRead, fs_read)

/* Writes the map {status, <key>: the first value of response header
   `header` (nil when absent), data} of the http answer `r`. */
static void write_seen(yao_writer *out, const yao_answer *r, const char *key, const char *header) {
    yao_reader resp = yao_answer_reader(r), v, h, first;
    const uint8_t *raw;
    size_t len;
    int64_t status = 0;
    uint32_t n;
    yao_write_map(out, 3);
    yao_write_cstr(out, "status");
    if (yao_map_find(&resp, "status", &v) == 1) yao_read_int(&v, &status);
    yao_write_int(out, status);
    yao_write_cstr(out, key);
    if (yao_map_find(&resp, "headers", &h) == 1 && yao_map_find(&h, header, &v) == 1 &&
        yao_read_array(&v, &n) && n > 0 && (first = v, yao_read_raw(&first, &raw, &len)))
        yao_write_raw(out, raw, len);
    else
        yao_write_nil(out);
    yao_write_cstr(out, "data");
    if (yao_map_find(&resp, "data", &v) == 1 && yao_read_raw(&v, &raw, &len)) yao_write_raw(out, raw, len);
    else yao_write_nil(out);
}

/* HttpGet(url) / HttpPost(url, payload) -> {status, content_type, data}. */
static int32_t http_call(const char *method, yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_writer a = {0};
    yao_answer r;
    yao_write_array(&a, argc);
    for (uint32_t i = 0; i < argc; i++) {
        const uint8_t *raw;
        size_t len;
        if (!yao_read_raw(args, &raw, &len)) return yao_fail(out, 400, "malformed arguments");
        yao_write_raw(&a, raw, len);
    }
    if (yao_http(method, a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
    write_seen(out, &r, "content_type", "content-type");
    yao_answer_free(&r);
    yao_writer_free(&a);
    return 0;
}
static int32_t http_get(yao_reader *args, uint32_t argc, yao_writer *out) {
    return http_call("Get", args, argc > 1 ? 1 : argc, out);
}
YAO_EXPORT(HttpGet, http_get)
static int32_t http_post(yao_reader *args, uint32_t argc, yao_writer *out) {
    return http_call("Post", args, argc > 2 ? 2 : argc, out);
}
YAO_EXPORT(HttpPost, http_post)

/* One HttpMethods request: `method` of the http import with the args
   [verb (Send only), url, payload (already in `payload`, or NULL for nil),
   {"q": step}, {"X-Conformance": step}, timeout_ms (when > 0)]; the answer
   goes under `step` in `out` as {status, echo (the X-Echo header), data}. */
static int32_t http_step(const char *method, const char *verb, const char *url, uint32_t url_len,
                         const yao_writer *payload, const char *step, int64_t timeout_ms, yao_writer *out) {
    yao_writer a = {0};
    yao_answer r;
    yao_write_array(&a, (verb ? 5 : 4) + (timeout_ms > 0));
    if (verb) yao_write_cstr(&a, verb);
    yao_write_str(&a, url, url_len);
    if (payload) yao_write_raw(&a, payload->data, payload->len);
    else yao_write_nil(&a);
    yao_write_map(&a, 1), yao_write_cstr(&a, "q"), yao_write_cstr(&a, step);
    yao_write_map(&a, 1), yao_write_cstr(&a, "X-Conformance"), yao_write_cstr(&a, step);
    if (timeout_ms > 0) yao_write_int(&a, timeout_ms);
    if (yao_http(method, a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
    yao_write_cstr(out, step);
    write_seen(out, &r, "echo", "x-echo");
    yao_answer_free(&r);
    yao_writer_free(&a);
    return 0;
}

/* HttpMethods(base): Put (JSON), Patch (text), Delete, Head and
   Send("OPTIONS", with a timeout), each with the query q=<step> and the
   header X-Conformance: <step>. */
static int32_t http_methods(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *url;
    uint32_t url_len;
    if (argc < 1 || !yao_read_str(args, &url, &url_len)) return yao_fail(out, 400, "HttpMethods expects a URL");
    yao_writer json = {0}, text = {0};
    yao_write_map(&json, 2);
    yao_write_cstr(&json, "name"), yao_write_cstr(&json, "Ada");
    yao_write_cstr(&json, "tags"), yao_write_array(&json, 2), yao_write_int(&json, 1), yao_write_int(&json, 2);
    yao_write_cstr(&text, "patch text");
    yao_write_map(out, 5);
    int32_t code = http_step("Put", NULL, url, url_len, &json, "put", 0, out);
    if (!code) code = http_step("Patch", NULL, url, url_len, &text, "patch", 0, out);
    if (!code) code = http_step("Delete", NULL, url, url_len, NULL, "delete", 0, out);
    if (!code) code = http_step("Head", NULL, url, url_len, NULL, "head", 0, out);
    if (!code) code = http_step("Send", "OPTIONS", url, url_len, NULL, "options", 5000, out);
    yao_writer_free(&json);
    yao_writer_free(&text);
    return code;
}
YAO_EXPORT(HttpMethods, http_methods)

/* HttpUpload(base): writes conformance/upload/a.txt (text) and b.bin (bytes
   0 1 2 255) under "data", posts them as the form fields doc and raw with
   the fields {user, n} to <base>/upload (multipart/form-data), removes the
   folder, and answers {status, data}. */
static int32_t http_upload(yao_reader *args, uint32_t argc, yao_writer *out) {
    const char *b;
    uint32_t bl;
    char url[512];
    if (argc < 1 || !yao_read_str(args, &b, &bl) || bl > sizeof url - sizeof "/upload")
        return yao_fail(out, 400, "HttpUpload expects a base URL");
    for (uint32_t i = 0; i < bl; i++) url[i] = b[i];
    const char *tail = "/upload";
    uint32_t at = bl;
    while (*tail) url[at++] = *tail++;
    url[at] = 0;
    static const uint8_t bytes[] = {0, 1, 2, 255};
    int32_t code;
    if ((code = fs_step("MkdirAll", "conformance/upload", 0, 0, 0, 0, out))) return code;
    if ((code = fs_step("WriteFile", "conformance/upload/a.txt", "h\xc3\xa9" "llo, upload", 0, 0, 0, out))) return code;
    if ((code = fs_step("WriteFileBuffer", "conformance/upload/b.bin", 0, bytes, sizeof bytes, 0, out))) return code;
    yao_writer fields = {0};
    yao_write_map(&fields, 2);
    yao_write_cstr(&fields, "user"), yao_write_cstr(&fields, "Ada");
    yao_write_cstr(&fields, "n"), yao_write_int(&fields, 3);
    const yao_file files[] = {{"doc", "conformance/upload/a.txt"}, {"raw", "conformance/upload/b.bin"}};
    yao_answer r;
    int32_t posted = yao_http_post_files(url, fields.data, fields.len, files, 2, &r);
    yao_writer_free(&fields);
    if ((code = fs_step("RemoveAll", "conformance/upload", 0, 0, 0, 0, out))) {
        yao_answer_free(&r);
        return code;
    }
    if (posted != 0) return pass_on(out, &r, 0);
    yao_reader resp = yao_answer_reader(&r), v;
    const uint8_t *raw;
    size_t len;
    int64_t status = 0;
    yao_write_map(out, 2);
    yao_write_cstr(out, "status");
    if (yao_map_find(&resp, "status", &v) == 1) yao_read_int(&v, &status);
    yao_write_int(out, status);
    yao_write_cstr(out, "data");
    if (yao_map_find(&resp, "data", &v) == 1 && yao_read_raw(&v, &raw, &len)) yao_write_raw(out, raw, len);
    else yao_write_nil(out);
    yao_answer_free(&r);
    return 0;
}
YAO_EXPORT(HttpUpload, http_upload)

/* Query(dsl): the rows the host's QueryDSL answers. */
static int32_t query_rows(yao_reader *args, uint32_t argc, yao_writer *out) {
    const uint8_t *raw;
    size_t len;
    yao_answer r;
    yao_writer a = {0};
    yao_write_array(&a, 1);
    if (argc >= 1 && yao_read_raw(args, &raw, &len)) yao_write_raw(&a, raw, len);
    else yao_write_nil(&a);
    if (yao_query(a.data, a.len, &r) != 0) return pass_on(out, &r, &a);
    if (r.len) yao_write_raw(out, r.data, r.len);
    else yao_write_nil(out);
    yao_answer_free(&r);
    yao_writer_free(&a);
    return 0;
}
YAO_EXPORT(Query, query_rows)

/* ---- the call context and concurrency (docs/ABI.md `context`, §10) ------ */

/* Context(): the call context, as yao_context answers it. */
static int32_t read_context(yao_reader *args, uint32_t argc, yao_writer *out) {
    yao_answer a;
    (void)args;
    (void)argc;
    if (yao_context(&a) != 0) return pass_on(out, &a, 0);
    put_raw_answer(out, &a);
    return 0;
}
YAO_EXPORT(Context, read_context)

/* Parallel(ms): sleeps `ms`, then finds users 1 and 2 in parallel; gou's
   [{data, index}, {data, index, error, code}] as the host answers it. */
static int32_t parallel(yao_reader *args, uint32_t argc, yao_writer *out) {
    int64_t ms = 0;
    yao_answer a;
    if (argc < 1 || !yao_read_int(args, &ms)) return yao_fail(out, 400, "ms must be an integer");
    if (yao_sleep(ms, &a) != 0) return pass_on(out, &a, 0);
    yao_answer_free(&a);
    yao_writer t = {0};
    yao_write_array(&t, 1); /* the args: [tasks] */
    yao_write_array(&t, 2);
    for (int64_t id = 1; id <= 2; id++) {
        yao_write_map(&t, 2);
        yao_write_cstr(&t, "process");
        yao_write_cstr(&t, "models.user.Find");
        yao_write_cstr(&t, "args");
        yao_write_array(&t, 1);
        yao_write_int(&t, id);
    }
    if (yao_tasks("All", t.data, t.len, &a) != 0) return pass_on(out, &a, &t);
    put_raw_answer(out, &a);
    yao_writer_free(&t);
    return 0;
}
YAO_EXPORT(Parallel, parallel)
