/* Native tests of yao.h: the MessagePack writer and reader (every int
   width, malformed and truncated input), map lookup, yao_call, the
   process/log wrappers through the test hooks, and the args
   yao_http_post_files builds. Build and run:
     gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -I.. codec_test.c -o codec_test && ./codec_test */
#define YAO_IMPLEMENTATION
#include "yao.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int failures, checks;
#define CHECK(cond)                                                               \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            failures++;                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

/* The writer's bytes equal `n` expected bytes. */
static bool bytes_are(const yao_writer *w, const uint8_t *want, size_t n) {
    return !w->failed && w->len == n && memcmp(w->data, want, n) == 0;
}
#define EXPECT_BYTES(w, ...)                                                  \
    do {                                                                      \
        const uint8_t want_[] = {__VA_ARGS__};                                \
        CHECK(bytes_are((w), want_, sizeof want_));                           \
    } while (0)

static void test_int_widths(void) {
    struct { int64_t v; size_t size; uint8_t marker; } cases[] = {
        {0, 1, 0x00}, {1, 1, 0x01}, {127, 1, 0x7f}, {128, 2, 0xcc}, {255, 2, 0xcc}, {256, 3, 0xcd},
        {65535, 3, 0xcd}, {65536, 5, 0xce}, {4294967295LL, 5, 0xce}, {4294967296LL, 9, 0xcf},
        {INT64_MAX, 9, 0xcf}, {-1, 1, 0xff}, {-32, 1, 0xe0}, {-33, 2, 0xd0}, {-128, 2, 0xd0},
        {-129, 3, 0xd1}, {-32768, 3, 0xd1}, {-32769, 5, 0xd2}, {INT32_MIN, 5, 0xd2},
        {(int64_t)INT32_MIN - 1, 9, 0xd3}, {INT64_MIN, 9, 0xd3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yao_writer w = {0};
        CHECK(yao_write_int(&w, cases[i].v));
        CHECK(w.len == cases[i].size);
        CHECK(w.data[0] == cases[i].marker);
        yao_reader r = yao_reader_make(w.data, w.len);
        int64_t got = 0;
        CHECK(yao_peek(&r) == YAO_INT);
        CHECK(yao_read_int(&r, &got) && got == cases[i].v);
        CHECK(yao_reader_done(&r));
        r = yao_reader_make(w.data, w.len);
        uint64_t u = 0;
        CHECK(yao_read_uint(&r, &u) == (cases[i].v >= 0));
        if (cases[i].v >= 0) CHECK(u == (uint64_t)cases[i].v);
        /* every strict prefix is truncated */
        for (size_t cut = 0; cut < w.len; cut++) {
            yao_reader t = yao_reader_make(w.data, cut);
            CHECK(!yao_read_int(&t, &got));
            CHECK(t.p == w.data); /* a failed read does not move */
            CHECK(!yao_skip(&t));
        }
        yao_writer_free(&w);
    }
    /* Exact bytes, big-endian. */
    yao_writer w = {0};
    yao_write_int(&w, 0x1234);
    EXPECT_BYTES(&w, 0xcd, 0x12, 0x34);
    yao_writer_reset(&w);
    yao_write_int(&w, -2);
    EXPECT_BYTES(&w, 0xfe);
    yao_writer_reset(&w);
    yao_write_int(&w, -200);
    EXPECT_BYTES(&w, 0xd1, 0xff, 0x38);
    yao_writer_reset(&w);
    yao_write_uint(&w, UINT64_MAX);
    EXPECT_BYTES(&w, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    /* Above INT64_MAX: only yao_read_uint takes it. */
    yao_reader r = yao_reader_make(w.data, w.len);
    int64_t i64;
    uint64_t u64;
    CHECK(!yao_read_int(&r, &i64));
    CHECK(yao_read_uint(&r, &u64) && u64 == UINT64_MAX);
    yao_writer_free(&w);

    /* Signed encodings of positive values and unsigned of small ones, as
       other encoders write them, read back right. */
    const uint8_t other[] = {0xd0, 0x05, 0xd1, 0x7f, 0xff, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xcc, 0x01, 0xd2, 0xff, 0xff, 0xff, 0xfe};
    r = yao_reader_make(other, sizeof other);
    CHECK(yao_read_int(&r, &i64) && i64 == 5);
    CHECK(yao_read_int(&r, &i64) && i64 == 32767);
    CHECK(yao_read_int(&r, &i64) && i64 == INT64_MIN);
    CHECK(yao_read_uint(&r, &u64) && u64 == 1);
    CHECK(!yao_read_uint(&r, &u64));
    CHECK(yao_read_int(&r, &i64) && i64 == -2);
    CHECK(yao_reader_done(&r));
}

static void test_scalars(void) {
    yao_writer w;
    yao_writer_init(&w);
    yao_write_nil(&w);
    yao_write_bool(&w, true);
    yao_write_bool(&w, false);
    yao_write_float(&w, 1.5);
    yao_write_float32(&w, -0.25f);
    EXPECT_BYTES(&w, 0xc0, 0xc3, 0xc2, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xca, 0xbe, 0x80, 0, 0);
    yao_reader r = yao_reader_make(w.data, w.len);
    bool b;
    double d;
    int64_t i;
    CHECK(yao_peek(&r) == YAO_NIL);
    CHECK(!yao_read_bool(&r, &b));
    CHECK(yao_read_nil(&r));
    CHECK(yao_read_bool(&r, &b) && b);
    CHECK(yao_read_bool(&r, &b) && !b);
    CHECK(!yao_read_int(&r, &i)); /* a float is not an int */
    CHECK(yao_peek(&r) == YAO_FLOAT);
    CHECK(yao_read_float(&r, &d) && d == 1.5);
    CHECK(yao_read_number(&r, &d) && d == -0.25);
    CHECK(yao_reader_done(&r));
    CHECK(yao_peek(&r) == YAO_INVALID);
    CHECK(!yao_read_nil(&r));
    /* read_number takes ints; read_float does not */
    yao_writer_reset(&w);
    yao_write_int(&w, -7);
    r = yao_reader_make(w.data, w.len);
    CHECK(!yao_read_float(&r, &d));
    CHECK(yao_read_number(&r, &d) && d == -7.0);
    yao_writer_reset(&w);
    yao_write_float(&w, NAN);
    r = yao_reader_make(w.data, w.len);
    CHECK(yao_read_float(&r, &d) && isnan(d));
    yao_writer_free(&w);
}

static void check_str_header(size_t len, uint8_t marker, size_t header) {
    char *s = malloc(len + 1);
    memset(s, 'x', len);
    yao_writer w = {0};
    CHECK(yao_write_str(&w, s, len));
    CHECK(w.len == header + len);
    CHECK(w.data[0] == marker);
    yao_reader r = yao_reader_make(w.data, w.len);
    const char *got;
    uint32_t n;
    CHECK(yao_peek(&r) == YAO_STR);
    CHECK(yao_read_str(&r, &got, &n) && n == len && memcmp(got, s, len) == 0);
    CHECK(yao_reader_done(&r));
    /* the body cut short: the header alone is not enough */
    r = yao_reader_make(w.data, w.len - 1);
    if (len) CHECK(!yao_read_str(&r, &got, &n) && !yao_skip(&r));
    /* the same length as bin */
    yao_writer_reset(&w);
    CHECK(yao_write_bin(&w, s, len));
    r = yao_reader_make(w.data, w.len);
    const uint8_t *bin;
    CHECK(yao_peek(&r) == YAO_BIN);
    CHECK(!yao_read_str(&r, &got, &n));
    CHECK(yao_read_bin(&r, &bin, &n) && n == len && memcmp(bin, s, len) == 0);
    CHECK(w.data[0] == (len <= 255 ? 0xc4 : len <= 65535 ? 0xc5 : 0xc6));
    yao_writer_free(&w);
    free(s);
}

static void test_strings_and_bins(void) {
    check_str_header(0, 0xa0, 1);
    check_str_header(31, 0xbf, 1);
    check_str_header(32, 0xd9, 2);
    check_str_header(255, 0xd9, 2);
    check_str_header(256, 0xda, 3);
    check_str_header(65535, 0xda, 3);
    check_str_header(65536, 0xdb, 5);
    yao_writer w = {0};
    yao_write_cstr(&w, "hé");
    EXPECT_BYTES(&w, 0xa3, 'h', 0xc3, 0xa9);
    yao_writer_free(&w);
    CHECK(yao_str_eq("abc", 3, "abc"));
    CHECK(!yao_str_eq("abc", 3, "ab"));
    CHECK(!yao_str_eq("abc", 3, "abcd"));
    CHECK(!yao_str_eq("ab", 2, "abc"));
    CHECK(yao_str_eq("", 0, ""));
}

static void test_containers(void) {
    uint32_t sizes[] = {0, 15, 16, 65535, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint32_t n = sizes[i], got;
        yao_writer w = {0};
        yao_write_array(&w, n);
        for (uint32_t k = 0; k < n; k++) yao_write_int(&w, k);
        yao_write_map(&w, n);
        for (uint32_t k = 0; k < n; k++) {
            yao_write_int(&w, k);
            yao_write_nil(&w);
        }
        CHECK(!w.failed);
        CHECK(w.data[0] == (n <= 15 ? 0x90 | n : n <= 65535 ? 0xdc : 0xdd));
        yao_reader r = yao_reader_make(w.data, w.len);
        CHECK(yao_peek(&r) == YAO_ARRAY);
        CHECK(!yao_read_map(&r, &got));
        yao_reader copy = r;
        CHECK(yao_read_array(&r, &got) && got == n);
        CHECK(yao_skip(&copy)); /* skips the whole array */
        for (uint32_t k = 0; k < n; k++) CHECK(yao_skip(&r));
        CHECK(r.p == copy.p);
        CHECK(yao_peek(&r) == YAO_MAP);
        CHECK(yao_read_map(&r, &got) && got == n);
        for (uint32_t k = 0; k < 2 * n; k++) CHECK(yao_skip(&r));
        CHECK(yao_reader_done(&r));
        yao_writer_free(&w);
    }
}

/* A value with every type nested, for the truncation sweep. */
static void write_sample(yao_writer *w) {
    yao_write_map(w, 4);
    yao_write_cstr(w, "name");
    yao_write_cstr(w, "Ada Lovelace, the first programmer");
    yao_write_cstr(w, "tags");
    yao_write_array(w, 3);
    yao_write_int(w, -100000);
    yao_write_float(w, 2.5);
    yao_write_bin(w, "\x00\x01\x02", 3);
    yao_write_cstr(w, "deep");
    yao_write_array(w, 1);
    yao_write_map(w, 1);
    yao_write_int(w, 7); /* a non-string key */
    yao_write_bool(w, true);
    yao_write_cstr(w, "n");
    yao_write_uint(w, UINT64_MAX);
}

static void test_truncated_and_malformed(void) {
    yao_writer w = {0};
    write_sample(&w);
    CHECK(!w.failed);
    yao_reader r = yao_reader_make(w.data, w.len);
    const uint8_t *raw;
    size_t raw_len;
    CHECK(yao_read_raw(&r, &raw, &raw_len) && raw == w.data && raw_len == w.len);
    for (size_t cut = 0; cut < w.len; cut++) {
        yao_reader t = yao_reader_make(w.data, cut), v;
        CHECK(!yao_skip(&t));
        CHECK(t.p == w.data);
        CHECK(yao_map_find(&t, "n", &v) == -1);
    }
    /* 0xc1 is never used */
    const uint8_t never[] = {0xc1};
    r = yao_reader_make(never, 1);
    CHECK(yao_peek(&r) == YAO_INVALID);
    CHECK(!yao_skip(&r));
    /* counts that the input cannot hold */
    const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    uint32_t n;
    r = yao_reader_make(huge_array, sizeof huge_array);
    CHECK(!yao_read_array(&r, &n));
    CHECK(!yao_skip(&r));
    const uint8_t huge_map[] = {0xdf, 0x80, 0, 0, 0, 0xa0, 0xc0};
    r = yao_reader_make(huge_map, sizeof huge_map);
    CHECK(!yao_read_map(&r, &n));
    CHECK(!yao_skip(&r));
    const uint8_t huge_str[] = {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    const char *s;
    r = yao_reader_make(huge_str, sizeof huge_str);
    CHECK(yao_peek(&r) == YAO_STR);
    CHECK(!yao_read_str(&r, &s, &n));
    CHECK(!yao_skip(&r));
    /* ext values are skippable (but not Yao values) */
    const uint8_t ext[] = {0xd4, 0x01, 0x02, 0xc7, 0x02, 0x05, 0xaa, 0xbb, 0xc0};
    r = yao_reader_make(ext, sizeof ext);
    CHECK(yao_peek(&r) == YAO_EXT);
    CHECK(yao_skip(&r) && yao_skip(&r) && yao_read_nil(&r) && yao_reader_done(&r));
    /* a nesting far deeper than any stack: no recursion */
    size_t depth = 1000000;
    uint8_t *deep = malloc(depth + 1);
    memset(deep, 0x91, depth);
    deep[depth] = 0xc0;
    r = yao_reader_make(deep, depth + 1);
    CHECK(yao_skip(&r) && yao_reader_done(&r));
    r = yao_reader_make(deep, depth);
    CHECK(!yao_skip(&r));
    free(deep);
    /* empty and NULL input */
    r = yao_reader_make(NULL, 0);
    CHECK(yao_peek(&r) == YAO_INVALID && !yao_skip(&r) && yao_reader_done(&r));
    /* random bytes: nothing may crash or read out of bounds (ASan) */
    srand(1234);
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[24];
        size_t len = (size_t)(rand() % (int)sizeof buf);
        for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)rand();
        uint8_t *heap = malloc(len ? len : 1); /* exact size so ASan sees overreads */
        memcpy(heap, buf, len);
        yao_reader t = yao_reader_make(heap, len), v;
        yao_reader u = t;
        const uint8_t *rawp;
        size_t rawn;
        (void)yao_map_find(&t, "a", &v);
        while (yao_read_raw(&u, &rawp, &rawn)) CHECK(rawn > 0 && rawp + rawn <= heap + len);
        free(heap);
    }
    yao_writer_free(&w);
}

static void test_map_find(void) {
    yao_writer w = {0};
    write_sample(&w);
    yao_reader map = yao_reader_make(w.data, w.len), v;
    const char *s;
    uint32_t n;
    uint64_t u;
    CHECK(yao_map_find(&map, "name", &v) == 1);
    CHECK(yao_read_str(&v, &s, &n) && yao_str_eq(s, n, "Ada Lovelace, the first programmer") && yao_reader_done(&v));
    CHECK(yao_map_find(&map, "n", &v) == 1 && yao_read_uint(&v, &u) && u == UINT64_MAX);
    CHECK(yao_map_find(&map, "missing", &v) == 0);
    CHECK(yao_map_find(&map, "nam", &v) == 0);
    CHECK(yao_map_find_n(&map, "name_and_more", 4, &v) == 1 && yao_peek(&v) == YAO_STR);
    CHECK(yao_map_find_n(&map, "n\0", 2, &v) == 0);
    CHECK(map.p == w.data); /* the cursor did not move */
    CHECK(yao_map_find(&map, "tags", &v) == 1 && yao_peek(&v) == YAO_ARRAY && yao_skip(&v) && yao_reader_done(&v));
    /* not a map */
    yao_writer_reset(&w);
    yao_write_array(&w, 0);
    map = yao_reader_make(w.data, w.len);
    CHECK(yao_map_find(&map, "a", &v) == -1);
    /* duplicate keys: the last wins */
    yao_writer_reset(&w);
    yao_write_map(&w, 2);
    yao_write_cstr(&w, "a");
    yao_write_int(&w, 1);
    yao_write_cstr(&w, "a");
    yao_write_int(&w, 2);
    map = yao_reader_make(w.data, w.len);
    int64_t i;
    CHECK(yao_map_find(&map, "a", &v) == 1 && yao_read_int(&v, &i) && i == 2);
    /* a malformed value after the key is an error, not "not found" */
    const uint8_t bad[] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xc1};
    map = yao_reader_make(bad, sizeof bad);
    CHECK(yao_map_find(&map, "a", &v) == -1);
    yao_writer_free(&w);
}

static void test_writer_copy_and_growth(void) {
    yao_writer w = {0};
    for (int k = 0; k < 100000; k++) yao_write_int(&w, k);
    CHECK(!w.failed && w.cap >= w.len);
    yao_reader r = yao_reader_make(w.data, w.len);
    int64_t v;
    bool ordered = true;
    for (int k = 0; k < 100000; k++) ordered = ordered && yao_read_int(&r, &v) && v == k;
    CHECK(ordered && yao_reader_done(&r));
    yao_writer other = {0};
    yao_write_array(&other, 1);
    yao_write_raw(&other, w.data, 3); /* 0, 1, 2 as raw values */
    EXPECT_BYTES(&other, 0x91, 0x00, 0x01, 0x02);
    yao_writer_free(&other);
    yao_writer_free(&w);
    CHECK(w.data == NULL && w.len == 0);
}

/* ---- script functions through yao_call ---------------------------------- */

static int32_t add(yao_reader *args, uint32_t argc, yao_writer *out) {
    int64_t a, b;
    if (argc < 2 || !yao_read_int(args, &a) || !yao_read_int(args, &b))
        return yao_fail(out, 400, "Add expects two integers");
    yao_write_int(out, a + b);
    return 0;
}

static int32_t teapot(yao_reader *args, uint32_t argc, yao_writer *out) {
    (void)args;
    (void)argc;
    yao_write_cstr(out, "half-written");
    return 418; /* without yao_fail */
}

static int32_t nothing(yao_reader *args, uint32_t argc, yao_writer *out) {
    (void)args;
    (void)out;
    return argc == 0 ? 0 : 400;
}

static void expect_error(const yao_writer *out, int64_t code, const char *message) {
    yao_reader r = yao_reader_make(out->data, out->len), v;
    int64_t c = 0;
    const char *m;
    uint32_t n;
    CHECK(yao_map_find(&r, "code", &v) == 1 && yao_read_int(&v, &c) && c == code);
    CHECK(yao_map_find(&r, "message", &v) == 1 && yao_read_str(&v, &m, &n) && yao_str_eq(m, n, message));
}

static void test_calls(void) {
    yao_writer args = {0}, out = {0};
    yao_write_array(&args, 2);
    yao_write_int(&args, 40);
    yao_write_int(&args, 2);
    CHECK(yao_call(add, args.data, args.len, &out) == 0);
    EXPECT_BYTES(&out, 42);
    yao_writer_reset(&out);
    yao_writer_reset(&args);
    yao_write_array(&args, 2);
    yao_write_int(&args, 1);
    yao_write_cstr(&args, "x");
    CHECK(yao_call(add, args.data, args.len, &out) == 400);
    expect_error(&out, 400, "Add expects two integers");
    yao_writer_reset(&out);
    yao_writer_reset(&args);
    yao_write_int(&args, 5); /* args that are not an array */
    CHECK(yao_call(add, args.data, args.len, &out) == 400);
    expect_error(&out, 400, "arguments are not a MessagePack array");
    yao_writer_reset(&out);
    CHECK(yao_call(teapot, NULL, 0, &out) == 418);
    expect_error(&out, 418, "error");
    yao_writer_reset(&out);
    CHECK(yao_call(nothing, NULL, 0, &out) == 0 && out.len == 0);
    const uint8_t empty[] = {0x90};
    CHECK(yao_call(nothing, empty, 1, &out) == 0 && out.len == 0);
    yao_writer_free(&args);
    yao_writer_free(&out);
}

/* ---- processes and logs through the test hooks -------------------------- */

static char last_name[64];
static size_t last_args_len;
static int log_count, last_level;
static char last_log[64];

static void answer(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    snprintf(last_name, sizeof last_name, "%s", name);
    last_args_len = args_len;
    yao_reader r = yao_reader_make(args, args_len);
    uint32_t n;
    int64_t id = -1;
    if (!yao_read_array(&r, &n) || (n && !yao_read_int(&r, &id))) {
        out->code = 400;
        out->message = "bad args";
        out->message_len = 8;
        return;
    }
    if (id == 1) {
        yao_writer w = {0};
        yao_write_map(&w, 1);
        yao_write_cstr(&w, "id");
        yao_write_int(&w, 1);
        out->code = 0;
        out->data = w.data;
        out->len = (uint32_t)w.len;
        return;
    }
    out->code = 404;
    out->message = "user not found";
    out->message_len = 14;
}

static void logged(int32_t level, const char *msg, size_t len) {
    log_count++;
    last_level = level;
    snprintf(last_log, sizeof last_log, "%.*s", (int)len, msg);
}

static void test_process_and_log(void) {
    yao_answer a;
    CHECK(yao_process("models.user.Find", NULL, 0, &a) == 500); /* no hook yet */
    yao_answer_free(&a);
    yao_test_set_process(answer);
    yao_writer args = {0};
    yao_write_array(&args, 1);
    yao_write_int(&args, 1);
    CHECK(yao_process("models.user.Find", args.data, args.len, &a) == 0);
    CHECK(strcmp(last_name, "models.user.Find") == 0 && last_args_len == 2);
    yao_reader r = yao_answer_reader(&a), v;
    int64_t id;
    CHECK(yao_map_find(&r, "id", &v) == 1 && yao_read_int(&v, &id) && id == 1);
    yao_answer_free(&a);
    yao_writer_reset(&args);
    yao_write_array(&args, 1);
    yao_write_int(&args, 2);
    CHECK(yao_process("models.user.Find", args.data, args.len, &a) == 404);
    CHECK(a.message_len == 14 && memcmp(a.message, "user not found", 14) == 0);
    r = yao_answer_reader(&a); /* an error answer reads as nil */
    CHECK(yao_read_nil(&r));
    yao_answer_free(&a);
    CHECK(yao_process("x", NULL, 0, &a) == 0 || a.code == 404); /* no args: [] */
    CHECK(last_args_len == 1);
    yao_answer_free(&a);
    yao_writer_free(&args);

    /* error values from the wire, as the wasm side parses them */
    yao_writer e = {0};
    yao_fail(&e, 418, "teapot");
    uint8_t *copy = yao_malloc(e.len);
    memcpy(copy, e.data, e.len);
    yao__answer_error(&a, copy, (uint32_t)e.len);
    CHECK(a.code == 418 && a.message_len == 6 && memcmp(a.message, "teapot", 6) == 0);
    yao_answer_free(&a);
    const uint8_t junk[] = {0x92, 0x01, 0x02};
    copy = yao_malloc(sizeof junk);
    memcpy(copy, junk, sizeof junk);
    yao__answer_error(&a, copy, sizeof junk);
    CHECK(a.code == 500);
    yao_answer_free(&a);
    CHECK(yao_fail(&e, 0, "zero") == 500);
    yao_writer_free(&e);

    yao_test_set_log(logged);
    yao_log_trace("t");
    yao_log_warn("careful");
    CHECK(log_count == 2 && last_level == YAO_WARN && strcmp(last_log, "careful") == 0);
    yao_log(YAO_ERROR, "abcdef", 3);
    CHECK(log_count == 3 && last_level == YAO_ERROR && strcmp(last_log, "abc") == 0);
}

/* ---- yao_http_post_files: the args it builds, through the process hook ---- */

static int http_calls;
static char http_name[32];
static uint8_t http_args[256];
static size_t http_args_len;

static void http_answer(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    http_calls++;
    snprintf(http_name, sizeof http_name, "%s", name);
    http_args_len = args_len <= sizeof http_args ? args_len : 0;
    memcpy(http_args, args, http_args_len);
    yao_reader r = yao_reader_make(args, args_len);
    uint32_t n;
    const char *url;
    uint32_t url_len;
    if (yao_read_array(&r, &n) && n >= 1 && yao_read_str(&r, &url, &url_len) && yao_str_eq(url, url_len, "http://h:1/refused")) {
        out->code = 403;
        out->message = "http: h:1 is not in http_allow";
        out->message_len = 30;
        return;
    }
    yao_writer w = {0};
    yao_write_map(&w, 3);
    yao_write_cstr(&w, "status"), yao_write_int(&w, 201);
    yao_write_cstr(&w, "headers"), yao_write_map(&w, 0);
    yao_write_cstr(&w, "data"), yao_write_nil(&w);
    out->code = 0;
    out->data = w.data;
    out->len = (uint32_t)w.len;
}

static void test_http_post_files(void) {
    yao_test_set_process(http_answer);
    yao_writer fields = {0}, want = {0};
    yao_write_map(&fields, 2);
    yao_write_cstr(&fields, "user"), yao_write_cstr(&fields, "ada");
    yao_write_cstr(&fields, "n"), yao_write_int(&fields, 3);
    const yao_file files[] = {{"doc", "up/a.txt"}, {"raw", "up/b.bin"}};
    yao_answer a;

    /* [url, fields, {field: path, ...}] to http.Post; the answer as it came */
    CHECK(yao_http_post_files("http://h/upload", fields.data, fields.len, files, 2, &a) == 0);
    yao_write_array(&want, 3);
    yao_write_cstr(&want, "http://h/upload");
    yao_write_raw(&want, fields.data, fields.len);
    yao_write_map(&want, 2);
    yao_write_cstr(&want, "doc"), yao_write_cstr(&want, "up/a.txt");
    yao_write_cstr(&want, "raw"), yao_write_cstr(&want, "up/b.bin");
    CHECK(http_calls == 1 && strcmp(http_name, "http.Post") == 0);
    CHECK(http_args_len == want.len && memcmp(http_args, want.data, want.len) == 0);
    yao_reader r = yao_answer_reader(&a), v;
    int64_t status = 0;
    CHECK(yao_map_find(&r, "status", &v) == 1 && yao_read_int(&v, &status) && status == 201);
    yao_answer_free(&a);

    /* no fields, no files: [url, nil, nil] */
    CHECK(yao_http_post_files("http://h/upload", NULL, 0, NULL, 0, &a) == 0);
    yao_writer_reset(&want);
    yao_write_array(&want, 3), yao_write_cstr(&want, "http://h/upload"), yao_write_nil(&want), yao_write_nil(&want);
    CHECK(http_calls == 2 && http_args_len == want.len && memcmp(http_args, want.data, want.len) == 0);
    yao_answer_free(&a);

    /* the host's error passes on with its code and message */
    CHECK(yao_http_post_files("http://h:1/refused", NULL, 0, files, 1, &a) == 403);
    CHECK(http_calls == 3 && a.message_len == 30 && memcmp(a.message, "http: h:1 is not in http_allow", 30) == 0);
    yao_answer_free(&a);

    /* refused before the host: fields that are not exactly one value, files missing */
    yao_write_int(&fields, 1); /* now two values */
    CHECK(yao_http_post_files("http://h/upload", fields.data, fields.len, files, 2, &a) == 400);
    CHECK(a.message_len == strlen("yao_http_post_files: fields must be one encoded value") && a.data == NULL);
    yao_answer_free(&a);
    CHECK(yao_http_post_files("http://h/upload", fields.data, 3, files, 2, &a) == 400); /* truncated */
    yao_answer_free(&a);
    CHECK(yao_http_post_files("http://h/upload", NULL, 0, NULL, 1, &a) == 400);
    CHECK(a.message_len == strlen("yao_http_post_files: bad files"));
    yao_answer_free(&a);
    CHECK(http_calls == 3);

    yao_writer_free(&fields);
    yao_writer_free(&want);
    yao_test_set_process(NULL);
}

/* yao_failf formats without libc: what each conversion prints, the cut at
   1023 bytes, and that the error value is the one yao_fail would write. */
static void test_failf(void) {
    yao_writer e = {0};
    yao_answer a;
    char want[256];
    const char *null_text = NULL;
    CHECK(yao_failf(&e, 422, "%s is %d (%i) of %u, 0x%x, %c%%, %ld %lld %zu %lu %s", "age", -7, 12, 3000000000u, 255u, 'k',
                    -2147483649l, -9223372036854775807ll - 1, (size_t)42, 18446744073709551615ul, null_text) == 422);
    snprintf(want, sizeof want, "%s is %d (%i) of %u, 0x%x, %c%%, %ld %lld %zu %lu %s", "age", -7, 12, 3000000000u, 255u, 'k',
             -2147483649l, -9223372036854775807ll - 1, (size_t)42, 18446744073709551615ul, "(null)");
    uint8_t *copy = yao_malloc(e.len);
    memcpy(copy, e.data, e.len);
    yao__answer_error(&a, copy, (uint32_t)e.len);
    CHECK(a.code == 422 && a.message_len == strlen(want) && memcmp(a.message, want, a.message_len) == 0);
    yao_answer_free(&a);

    const char *odd = "unknown %q stays, trailing %"; /* not a literal: the compiler's format check would refuse it */
    CHECK(yao_failf(&e, 400, odd, 0) == 400);
    copy = yao_malloc(e.len);
    memcpy(copy, e.data, e.len);
    yao__answer_error(&a, copy, (uint32_t)e.len);
    CHECK(a.message_len == strlen("unknown %q stays, trailing %") && memcmp(a.message, "unknown %q stays, trailing %", a.message_len) == 0);
    yao_answer_free(&a);

    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    yao_failf(&e, 413, "%s", long_text);
    copy = yao_malloc(e.len);
    memcpy(copy, e.data, e.len);
    yao__answer_error(&a, copy, (uint32_t)e.len);
    CHECK(a.code == 413 && a.message_len == 1023);
    yao_answer_free(&a);
    CHECK(yao_failf(&e, 0, "zero %d", 0) == 500);
    yao_writer_free(&e);
}

/* ---- the call context: the map the runtime answers yao.context with ----- */

static void context_answer(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    snprintf(last_name, sizeof last_name, "%s", name);
    last_args_len = args_len;
    CHECK(args_len == 1 && args[0] == 0x90);
    yao_writer w = {0};
    yao_write_map(&w, 3);
    yao_write_cstr(&w, "sid");
    yao_write_cstr(&w, "SID-42");
    yao_write_cstr(&w, "global");
    yao_write_map(&w, 1);
    yao_write_cstr(&w, "tenant");
    yao_write_cstr(&w, "t1");
    yao_write_cstr(&w, "authorized");
    yao_write_nil(&w);
    out->code = 0;
    out->data = w.data;
    out->len = (uint32_t)w.len;
}

static void test_context(void) {
    yao_test_set_process(context_answer);
    yao_answer a;
    CHECK(yao_context(&a) == 0);
    CHECK(strcmp(last_name, "yao.context") == 0 && last_args_len == 1);
    yao_reader ctx = yao_answer_reader(&a), v, t;
    const char *s;
    uint32_t n;
    CHECK(yao_map_find(&ctx, "sid", &v) == 1 && yao_read_str(&v, &s, &n) && yao_str_eq(s, n, "SID-42"));
    CHECK(yao_map_find(&ctx, "global", &v) == 1 && yao_map_find(&v, "tenant", &t) == 1 && yao_read_str(&t, &s, &n) &&
          yao_str_eq(s, n, "t1"));
    CHECK(yao_map_find(&ctx, "authorized", &v) == 1 && yao_peek(&v) == YAO_NIL);
    yao_answer_free(&a);
    yao_test_set_process(NULL);
}

/* ---- yao_tasks / yao_sleep: the names and args they send (docs/ABI.md §10) ---- */

static void test_tasks_and_sleep(void) {
    yao_test_set_process(http_answer); /* records the name and args; answers a map */
    yao_answer a;
    yao_writer args = {0};
    yao_write_array(&args, 2);
    yao_write_cstr(&args, "scripts.r.Build"), yao_write_array(&args, 0);
    CHECK(yao_tasks("Job", args.data, args.len, &a) == 0);
    CHECK(strcmp(http_name, "tasks.Job") == 0);
    CHECK(http_args_len == args.len && memcmp(http_args, args.data, args.len) == 0);
    yao_answer_free(&a);
    CHECK(yao_sleep(25, &a) == 0);
    CHECK(strcmp(http_name, "tasks.Sleep") == 0);
    CHECK(http_args_len == 2 && http_args[0] == 0x91 && http_args[1] == 25);
    yao_answer_free(&a);
    yao_writer_free(&args);
    yao_test_set_process(NULL);
}

/* ---- Store list methods and Incr: the args each sends, answers, errors ---- */

static int store_calls;
static char store_name[48];
static uint8_t store_args[128];
static size_t store_args_len;

/* Records the call; answers 404 for Pop on "empty" and ArrayGet past 2, 400
   for a negative index, [1, "x"] for ArrayAll, 5 for Incr, nil otherwise. */
static void store_answer(const char *name, const uint8_t *args, size_t args_len, yao_answer *out) {
    store_calls++;
    snprintf(store_name, sizeof store_name, "%s", name);
    store_args_len = args_len <= sizeof store_args ? args_len : 0;
    memcpy(store_args, args, store_args_len);
    yao_reader r = yao_reader_make(args, args_len);
    uint32_t n;
    const char *key;
    uint32_t key_len;
    int64_t index = 0;
    CHECK(yao_read_array(&r, &n) && n >= 1 && yao_read_str(&r, &key, &key_len));
    if (strcmp(name, "stores.s.Pop") == 0 && yao_str_eq(key, key_len, "empty")) {
        out->code = 404, out->message = "Pop on an empty list", out->message_len = 20;
        return;
    }
    if (strcmp(name, "stores.s.ArrayGet") == 0 && yao_read_int(&r, &index) && (index < 0 || index > 2)) {
        out->code = index < 0 ? 400 : 404;
        out->message = index < 0 ? "negative index" : "past the end";
        out->message_len = (uint32_t)strlen(out->message);
        return;
    }
    yao_writer w = {0};
    if (strcmp(name, "stores.s.ArrayAll") == 0) yao_write_array(&w, 2), yao_write_int(&w, 1), yao_write_cstr(&w, "x");
    else if (strcmp(name, "stores.s.Incr") == 0) yao_write_int(&w, 5);
    else yao_write_nil(&w);
    out->code = 0;
    out->data = w.data;
    out->len = (uint32_t)w.len;
}

/* The args of the last call are exactly the bytes `want` holds (reset after). */
static bool store_sent(const char *name, yao_writer *want) {
    bool same = strcmp(store_name, name) == 0 && store_args_len == want->len && memcmp(store_args, want->data, want->len) == 0;
    yao_writer_reset(want);
    return same;
}

static void test_store_lists(void) {
    yao_test_set_process(store_answer);
    yao_answer a;
    yao_writer vals = {0}, want = {0};
    yao_write_cstr(&vals, "a"), yao_write_int(&vals, 1); /* two values, no array header */

    CHECK(yao_store_push("s", "l", vals.data, vals.len, 2, &a) == 0);
    yao_write_array(&want, 3), yao_write_cstr(&want, "l"), yao_write_cstr(&want, "a"), yao_write_int(&want, 1);
    CHECK(store_sent("stores.s.Push", &want));
    yao_answer_free(&a);
    CHECK(yao_store_add_to_set("s", "l", vals.data, vals.len, 2, &a) == 0);
    yao_write_array(&want, 3), yao_write_cstr(&want, "l"), yao_write_cstr(&want, "a"), yao_write_int(&want, 1);
    CHECK(store_sent("stores.s.AddToSet", &want));
    yao_answer_free(&a);
    /* PullAll: [key, [values]] */
    CHECK(yao_store_pull_all("s", "l", vals.data, vals.len, 2, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "l"), yao_write_array(&want, 2), yao_write_cstr(&want, "a"),
        yao_write_int(&want, 1);
    CHECK(store_sent("stores.s.PullAll", &want));
    yao_answer_free(&a);
    CHECK(yao_store_pull_all("s", "l", NULL, 0, 0, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "l"), yao_write_array(&want, 0);
    CHECK(store_sent("stores.s.PullAll", &want));
    yao_answer_free(&a);
    CHECK(yao_store_pull("s", "l", vals.data, 2, &a) == 0); /* "a" is the first 2 bytes */
    yao_write_array(&want, 2), yao_write_cstr(&want, "l"), yao_write_cstr(&want, "a");
    CHECK(store_sent("stores.s.Pull", &want));
    yao_answer_free(&a);
    CHECK(yao_store_array_set("s", "l", 0, vals.data + 2, 1, &a) == 0);
    yao_write_array(&want, 3), yao_write_cstr(&want, "l"), yao_write_int(&want, 0), yao_write_int(&want, 1);
    CHECK(store_sent("stores.s.ArraySet", &want));
    yao_answer_free(&a);
    CHECK(yao_store_pop("s", "l", -1, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "l"), yao_write_int(&want, -1);
    CHECK(store_sent("stores.s.Pop", &want));
    yao_answer_free(&a);
    CHECK(yao_store_array_len("s", "l", &a) == 0);
    yao_write_array(&want, 1), yao_write_cstr(&want, "l");
    CHECK(store_sent("stores.s.ArrayLen", &want));
    yao_answer_free(&a);
    CHECK(yao_store_array_get("s", "l", 1, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "l"), yao_write_int(&want, 1);
    CHECK(store_sent("stores.s.ArrayGet", &want));
    yao_answer_free(&a);
    CHECK(yao_store_array_slice("s", "l", 1, 2, &a) == 0);
    yao_write_array(&want, 3), yao_write_cstr(&want, "l"), yao_write_int(&want, 1), yao_write_int(&want, 2);
    CHECK(store_sent("stores.s.ArraySlice", &want));
    yao_answer_free(&a);
    CHECK(yao_store_array_page("s", "l", 2, 3, &a) == 0);
    yao_write_array(&want, 3), yao_write_cstr(&want, "l"), yao_write_int(&want, 2), yao_write_int(&want, 3);
    CHECK(store_sent("stores.s.ArrayPage", &want));
    yao_answer_free(&a);

    /* answers: ArrayAll's array, Incr's integer */
    CHECK(yao_store_array_all("s", "l", &a) == 0);
    yao_write_array(&want, 1), yao_write_cstr(&want, "l");
    CHECK(store_sent("stores.s.ArrayAll", &want));
    yao_reader r = yao_answer_reader(&a);
    uint32_t n;
    int64_t i;
    const char *str;
    uint32_t len;
    CHECK(yao_read_array(&r, &n) && n == 2 && yao_read_int(&r, &i) && i == 1 && yao_read_str(&r, &str, &len) &&
          yao_str_eq(str, len, "x"));
    yao_answer_free(&a);
    CHECK(yao_store_incr("s", "n", 4, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "n"), yao_write_int(&want, 4);
    CHECK(store_sent("stores.s.Incr", &want));
    r = yao_answer_reader(&a);
    CHECK(yao_read_int(&r, &i) && i == 5);
    yao_answer_free(&a);
    CHECK(yao_store_incr_float("s", "n", 0.5, &a) == 0);
    yao_write_array(&want, 2), yao_write_cstr(&want, "n"), yao_write_float(&want, 0.5);
    CHECK(store_sent("stores.s.Incr", &want));
    yao_answer_free(&a);

    /* errors keep their codes */
    CHECK(yao_store_pop("s", "empty", 1, &a) == 404 && a.message_len == 20 && memcmp(a.message, "Pop on an empty list", 20) == 0);
    yao_answer_free(&a);
    CHECK(yao_store_array_get("s", "l", 9, &a) == 404);
    yao_answer_free(&a);
    CHECK(yao_store_array_get("s", "l", -1, &a) == 400);
    yao_answer_free(&a);

    /* refused before the host: bytes that are not exactly n values */
    int before = store_calls;
    CHECK(yao_store_push("s", "l", vals.data, vals.len, 3, &a) == 400 && a.data == NULL);
    CHECK(a.message_len == strlen("yao_store_push: values must be exactly n encoded values"));
    yao_answer_free(&a);
    CHECK(yao_store_push("s", "l", vals.data, vals.len, 1, &a) == 400); /* a value left over */
    yao_answer_free(&a);
    CHECK(yao_store_pull("s", "l", vals.data, 1, &a) == 400); /* truncated */
    yao_answer_free(&a);
    CHECK(yao_store_array_set("s", "l", 0, NULL, 0, &a) == 400);
    yao_answer_free(&a);
    CHECK(store_calls == before);

    yao_writer_free(&vals);
    yao_writer_free(&want);
    yao_test_set_process(NULL);
}

int main(void) {
    test_failf();
    test_int_widths();
    test_scalars();
    test_strings_and_bins();
    test_containers();
    test_truncated_and_malformed();
    test_map_find();
    test_writer_copy_and_growth();
    test_calls();
    test_process_and_log();
    test_http_post_files();
    test_context();
    test_tasks_and_sleep();
    test_store_lists();
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
