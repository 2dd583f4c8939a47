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
