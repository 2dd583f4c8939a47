/*
 * yaowasm JS engine: QuickJS-ng as one wasm32-wasi reactor shared by every
 * JS/TS script. The host (src/js.rs) instantiates it per call, from a
 * pre-initialized snapshot, and calls yao_js_call with the script's bytecode,
 * the function name and the MessagePack args. Guest ABI: SPEC §3 and
 * docs/ABI.md (packed i64 results, yao_alloc, MessagePack values, imports
 * yao.process, yao.log and the host API: store*, fs, http, query, tasks,
 * sleep).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "quickjs.h"
#include "prelude.h"

/* Bumped whenever what a hook module's bytecode relies on changes: the
 * globals of prelude.js, the calling convention of yao_js_call, or the
 * QuickJS-ng version (its bytecode format). Must equal JS_ABI in src/js.rs. */
#define YAO_JS_ABI 2

#define ERROR_BIT 0x80000000u

__attribute__((import_module("yao"), import_name("process")))
int64_t yao_process(int32_t name_ptr, int32_t name_len, int32_t args_ptr, int32_t args_len);
__attribute__((import_module("yao"), import_name("log")))
void yao_log(int32_t level, int32_t msg_ptr, int32_t msg_len);
/* The host API (docs/ABI.md §5-§8); every runtime provides all of them. */
__attribute__((import_module("yao"), import_name("store")))
int64_t yao_store(int32_t name_ptr, int32_t name_len, int32_t method_ptr, int32_t method_len, int32_t args_ptr, int32_t args_len);
__attribute__((import_module("yao"), import_name("store_get")))
int64_t yao_store_get(int32_t name_ptr, int32_t name_len, int32_t key_ptr, int32_t key_len);
__attribute__((import_module("yao"), import_name("store_set")))
int64_t yao_store_set(int32_t name_ptr, int32_t name_len, int32_t key_ptr, int32_t key_len, int32_t value_ptr, int32_t value_len, int64_t ttl_seconds);
__attribute__((import_module("yao"), import_name("store_del")))
int64_t yao_store_del(int32_t name_ptr, int32_t name_len, int32_t key_ptr, int32_t key_len);
__attribute__((import_module("yao"), import_name("fs")))
int64_t yao_fs(int32_t root_ptr, int32_t root_len, int32_t method_ptr, int32_t method_len, int32_t args_ptr, int32_t args_len);
__attribute__((import_module("yao"), import_name("http")))
int64_t yao_http(int32_t method_ptr, int32_t method_len, int32_t args_ptr, int32_t args_len);
__attribute__((import_module("yao"), import_name("query")))
int64_t yao_query(int32_t args_ptr, int32_t args_len);
/* The call context {sid, global, authorized} (docs/ABI.md `context`). */
__attribute__((import_module("yao"), import_name("context")))
int64_t yao_context(void);
/* Concurrency (docs/ABI.md §10): All/Any/Race, Job, time.After; time.Sleep. */
__attribute__((import_module("yao"), import_name("tasks")))
int64_t yao_tasks(int32_t method_ptr, int32_t method_len, int32_t args_ptr, int32_t args_len);
__attribute__((import_module("yao"), import_name("sleep")))
int64_t yao_sleep(int64_t ms);

static JSRuntime *rt;
static JSContext *ctx;
static JSValue fn_invoke, fn_error, ctor_exception;
static uint64_t random_state; /* 0: not seeded in this instance yet */

/* One spare zero byte after every block, so text the host writes here is
 * NUL-terminated as QuickJS's parsers want. */
__attribute__((export_name("yao_alloc")))
int32_t yao_alloc(int32_t size) {
    if (size < 0) return 0;
    uint8_t *p = malloc((size_t)size + 1);
    if (!p) return 0;
    p[size] = 0;
    return (int32_t)(uintptr_t)p;
}

__attribute__((export_name("yao_free")))
void yao_free(int32_t ptr, int32_t size) {
    (void)size;
    free((void *)(uintptr_t)ptr);
}

__attribute__((export_name("yao_encoding")))
int32_t yao_encoding(void) { return 0; } /* MessagePack: see encode/decode */

__attribute__((export_name("yao_js_abi")))
int32_t yao_js_abi(void) { return YAO_JS_ABI; }


/* ---- MessagePack <-> JS (the Yao value model, SPEC §2) ------------------
 * In:  nil → null, bool, int → number (beyond ±2^53: BigInt), float → number,
 *      str → string, bin → Uint8Array, array → Array, map → object
 *      (non-string keys as strings); ext is refused.
 * Out: undefined/null → nil (undefined, function and symbol properties of an
 *      object are left out, as JSON.stringify does; in an array they are
 *      nil), bool, number → int when integral and |n| ≤ 2^53 (else float64),
 *      BigInt → int64/uint64 (else an error), string, Uint8Array/ArrayBuffer
 *      → bin, Array → array, an object with toJSON (Date) → what toJSON gives,
 *      other objects → map of own enumerable string keys. Deeper than
 *      MAX_DEPTH (a cycle, say) is an error. */

#define MAX_DEPTH 256

typedef struct { uint8_t *p; size_t len, cap; int failed; } Buf;

static void buf_put(Buf *b, const void *src, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->failed = 1; return; }
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put_u8(Buf *b, uint8_t v) { buf_put(b, &v, 1); }
static void put_be(Buf *b, uint8_t tag, uint64_t v, int bytes) {
    uint8_t t[9]; t[0] = tag;
    for (int i = 0; i < bytes; i++) t[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    buf_put(b, t, 1 + bytes);
}
static void put_uint(Buf *b, uint64_t v) {
    if (v < 128) put_u8(b, (uint8_t)v);
    else if (v <= 0xff) put_be(b, 0xcc, v, 1);
    else if (v <= 0xffff) put_be(b, 0xcd, v, 2);
    else if (v <= 0xffffffffu) put_be(b, 0xce, v, 4);
    else put_be(b, 0xcf, v, 8);
}
static void put_int(Buf *b, int64_t v) {
    if (v >= 0) { put_uint(b, (uint64_t)v); return; }
    if (v >= -32) put_u8(b, (uint8_t)(int8_t)v);
    else if (v >= -128) put_be(b, 0xd0, (uint64_t)v, 1);
    else if (v >= -32768) put_be(b, 0xd1, (uint64_t)v, 2);
    else if (v >= INT32_MIN) put_be(b, 0xd2, (uint64_t)v, 4);
    else put_be(b, 0xd3, (uint64_t)v, 8);
}
static void put_len(Buf *b, uint8_t fix, uint8_t fixmax, uint8_t t8, uint8_t t16, uint8_t t32, size_t n) {
    if (n <= fixmax && fix) put_u8(b, (uint8_t)(fix | n));
    else if (n <= 0xff && t8) put_be(b, t8, n, 1);
    else if (n <= 0xffff) put_be(b, t16, n, 2);
    else put_be(b, t32, n, 4);
}
static void put_str(Buf *b, const char *s, size_t n) { put_len(b, 0xa0, 31, 0xd9, 0xda, 0xdb, n); buf_put(b, s, n); }
static void put_bin(Buf *b, const uint8_t *s, size_t n) { put_len(b, 0, 0, 0xc4, 0xc5, 0xc6, n); buf_put(b, s, n); }

/* Returns 0, or -1 with a JS exception pending. */
static int encode(JSContext *c, Buf *b, JSValueConst v, int depth) {
    if (depth > MAX_DEPTH) { JS_ThrowRangeError(c, "value nested deeper than %d levels (a cycle?) cannot be returned", MAX_DEPTH); return -1; }
    int tag = JS_VALUE_GET_NORM_TAG(v);
    switch (tag) {
    case JS_TAG_NULL: case JS_TAG_UNDEFINED: put_u8(b, 0xc0); return 0;
    case JS_TAG_BOOL: put_u8(b, JS_VALUE_GET_BOOL(v) ? 0xc3 : 0xc2); return 0;
    case JS_TAG_INT: put_int(b, JS_VALUE_GET_INT(v)); return 0;
    case JS_TAG_FLOAT64: {
        double d = JS_VALUE_GET_FLOAT64(v);
        if (d == (double)(int64_t)d && d >= -9007199254740992.0 && d <= 9007199254740992.0 && !(d == 0 && 1 / d < 0)) {
            put_int(b, (int64_t)d);
        } else {
            uint64_t bits; memcpy(&bits, &d, 8); put_be(b, 0xcb, bits, 8);
        }
        return 0;
    }
    case JS_TAG_STRING: {
        size_t n; const char *s = JS_ToCStringLen(c, &n, v);
        if (!s) return -1;
        put_str(b, s, n); JS_FreeCString(c, s); return 0;
    }
    case JS_TAG_SHORT_BIG_INT: case JS_TAG_BIG_INT: {
        int64_t i; uint64_t u;
        if (JS_ToBigInt64(c, &i, v) < 0) return -1;
        JSValue back = JS_NewBigInt64(c, i);
        int same = JS_IsStrictEqual(c, v, back); JS_FreeValue(c, back);
        if (same) { put_int(b, i); return 0; }
        if (JS_ToBigUint64(c, &u, v) < 0) return -1;
        back = JS_NewBigUint64(c, u);
        same = JS_IsStrictEqual(c, v, back); JS_FreeValue(c, back);
        if (same) { put_uint(b, u); return 0; }
        JS_ThrowRangeError(c, "BigInt beyond 64 bits cannot be a Yao integer");
        return -1;
    }
    case JS_TAG_OBJECT: break;
    default: put_u8(b, 0xc0); return 0; /* symbol and the like: nil */
    }
    if (JS_IsFunction(c, v)) { put_u8(b, 0xc0); return 0; }
    if (JS_IsArray(v)) {
        int64_t n;
        if (JS_GetLength(c, v, &n) < 0) return -1;
        put_len(b, 0x90, 15, 0, 0xdc, 0xdd, (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            JSValue e = JS_GetPropertyInt64(c, v, i);
            if (JS_IsException(e)) return -1;
            int r = encode(c, b, e, depth + 1);
            JS_FreeValue(c, e);
            if (r < 0) return -1;
        }
        return 0;
    }
    int ta = JS_GetTypedArrayType(v);
    if (ta == JS_TYPED_ARRAY_UINT8 || ta == JS_TYPED_ARRAY_UINT8C) {
        size_t n; uint8_t *p = JS_GetUint8Array(c, &n, v);
        if (!p && n) return -1;
        put_bin(b, p, n); return 0;
    }
    if (JS_IsArrayBuffer(v)) {
        size_t n; uint8_t *p = JS_GetArrayBuffer(c, &n, v);
        if (!p && n) return -1;
        put_bin(b, p, n); return 0;
    }
    JSValue to_json = JS_GetPropertyStr(c, v, "toJSON");
    if (JS_IsException(to_json)) return -1;
    if (JS_IsFunction(c, to_json)) {
        JSValue j = JS_Call(c, to_json, v, 0, NULL);
        JS_FreeValue(c, to_json);
        if (JS_IsException(j)) return -1;
        int r = encode(c, b, j, depth + 1);
        JS_FreeValue(c, j);
        return r;
    }
    JS_FreeValue(c, to_json);
    JSPropertyEnum *tab; uint32_t n;
    if (JS_GetOwnPropertyNames(c, &tab, &n, v, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0) return -1;
    /* Values first, so that undefined/function members can be left out
     * before the map header (which carries the count) is written. */
    JSValue *vals = n ? malloc(sizeof(JSValue) * n) : NULL;
    if (n && !vals) { JS_FreePropertyEnum(c, tab, n); JS_ThrowOutOfMemory(c); return -1; }
    uint32_t kept = 0; int r = 0;
    for (uint32_t i = 0; i < n; i++) {
        vals[i] = JS_GetProperty(c, v, tab[i].atom);
        if (JS_IsException(vals[i])) { r = -1; n = i; break; }
        if (!JS_IsUndefined(vals[i]) && !JS_IsFunction(c, vals[i]) && !JS_IsSymbol(vals[i])) kept++;
    }
    if (r == 0) {
        put_len(b, 0x80, 15, 0, 0xde, 0xdf, kept);
        for (uint32_t i = 0; i < n && r == 0; i++) {
            if (JS_IsUndefined(vals[i]) || JS_IsFunction(c, vals[i]) || JS_IsSymbol(vals[i])) continue;
            size_t kl; const char *k = JS_AtomToCStringLen(c, &kl, tab[i].atom);
            if (!k) { r = -1; break; }
            put_str(b, k, kl);
            JS_FreeCString(c, k);
            r = encode(c, b, vals[i], depth + 1);
        }
    }
    for (uint32_t i = 0; i < n; i++) JS_FreeValue(c, vals[i]);
    free(vals);
    JS_FreePropertyEnum(c, tab, n);
    return r;
}

typedef struct { const uint8_t *p; size_t len, pos; } Reader;

static int rd(Reader *r, size_t n) { return r->len - r->pos >= n; }
static uint64_t rd_be(Reader *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | r->p[r->pos++];
    return v;
}
static JSValue int_value(JSContext *c, int64_t v) {
    if (v >= -9007199254740991LL && v <= 9007199254740991LL) return JS_NewInt64(c, v);
    return JS_NewBigInt64(c, v);
}

static JSValue decode(JSContext *c, Reader *r, int depth) {
    if (depth > MAX_DEPTH) return JS_ThrowRangeError(c, "MessagePack nested too deep");
    if (!rd(r, 1)) return JS_ThrowSyntaxError(c, "MessagePack cut short");
    uint8_t t = r->p[r->pos++];
    size_t n = 0; int kind = 0; /* 1 str, 2 bin, 3 array, 4 map */
    if (t <= 0x7f) return JS_NewInt32(c, t);
    if (t >= 0xe0) return JS_NewInt32(c, (int8_t)t);
    if ((t & 0xf0) == 0x80) { n = t & 15; kind = 4; }
    else if ((t & 0xf0) == 0x90) { n = t & 15; kind = 3; }
    else if ((t & 0xe0) == 0xa0) { n = t & 31; kind = 1; }
    else {
        static const int8_t widths[] = {
            /* c0 */ 0, -1, 0, 0, 1, 2, 4, -1, -1, -1, 4, 8, 1, 2, 4, 8,
            /* d0 */ 1, 2, 4, 8, -1, -1, -1, -1, -1, 1, 2, 4, 2, 4, 2, 4 };
        int w = widths[t - 0xc0];
        if (w < 0) return JS_ThrowTypeError(c, "MessagePack type 0x%02x is not a Yao value", t);
        if (!rd(r, (size_t)w)) return JS_ThrowSyntaxError(c, "MessagePack cut short");
        switch (t) {
        case 0xc0: return JS_NULL;
        case 0xc2: return JS_FALSE;
        case 0xc3: return JS_TRUE;
        case 0xc4: case 0xc5: case 0xc6: n = rd_be(r, w); kind = 2; break;
        case 0xca: { uint32_t bits = (uint32_t)rd_be(r, 4); float f; memcpy(&f, &bits, 4); return JS_NewFloat64(c, f); }
        case 0xcb: { uint64_t bits = rd_be(r, 8); double d; memcpy(&d, &bits, 8); return JS_NewFloat64(c, d); }
        case 0xcc: case 0xcd: case 0xce: return JS_NewInt64(c, (int64_t)rd_be(r, w));
        case 0xcf: { uint64_t u = rd_be(r, 8); return u <= 9007199254740991ULL ? JS_NewInt64(c, (int64_t)u) : JS_NewBigUint64(c, u); }
        case 0xd0: return JS_NewInt32(c, (int8_t)rd_be(r, 1));
        case 0xd1: return JS_NewInt32(c, (int16_t)rd_be(r, 2));
        case 0xd2: return JS_NewInt32(c, (int32_t)rd_be(r, 4));
        case 0xd3: return int_value(c, (int64_t)rd_be(r, 8));
        case 0xd9: case 0xda: case 0xdb: n = rd_be(r, w); kind = 1; break;
        case 0xdc: case 0xdd: n = rd_be(r, w); kind = 3; break;
        case 0xde: case 0xdf: n = rd_be(r, w); kind = 4; break;
        }
    }
    if (kind == 1 || kind == 2) {
        if (!rd(r, n)) return JS_ThrowSyntaxError(c, "MessagePack cut short");
        const uint8_t *p = r->p + r->pos;
        r->pos += n;
        return kind == 1 ? JS_NewStringLen(c, (const char *)p, n) : JS_NewUint8ArrayCopy(c, p, n);
    }
    if (kind == 3) {
        JSValue a = JS_NewArray(c);
        for (size_t i = 0; i < n; i++) {
            JSValue e = decode(c, r, depth + 1);
            if (JS_IsException(e)) { JS_FreeValue(c, a); return e; }
            JS_SetPropertyUint32(c, a, (uint32_t)i, e);
        }
        return a;
    }
    JSValue o = JS_NewObject(c);
    for (size_t i = 0; i < n; i++) {
        JSValue k = decode(c, r, depth + 1);
        if (JS_IsException(k)) { JS_FreeValue(c, o); return k; }
        JSAtom atom = JS_ValueToAtom(c, k);
        JS_FreeValue(c, k);
        if (atom == JS_ATOM_NULL) { JS_FreeValue(c, o); return JS_EXCEPTION; }
        JSValue val = decode(c, r, depth + 1);
        if (JS_IsException(val)) { JS_FreeAtom(c, atom); JS_FreeValue(c, o); return val; }
        JS_DefinePropertyValue(c, o, atom, val, JS_PROP_C_W_E);
        JS_FreeAtom(c, atom);
    }
    return o;
}

static JSValue decode_all(JSContext *c, const uint8_t *p, size_t len) {
    Reader r = { p, len, 0 };
    JSValue v = decode(c, &r, 0);
    if (!JS_IsException(v) && r.pos != len) { JS_FreeValue(c, v); return JS_ThrowSyntaxError(c, "trailing bytes after the MessagePack value"); }
    return v;
}

/* Encodes v; 0 with *out set, or -1 with a JS exception pending. */
static int encode_all(JSContext *c, JSValueConst v, Buf *out) {
    Buf b = {0};
    if (encode(c, &b, v, 0) < 0) { free(b.p); return -1; }
    if (b.failed) { free(b.p); JS_ThrowOutOfMemory(c); return -1; }
    *out = b;
    return 0;
}

static int64_t pack(const void *ptr, size_t len, int is_error) {
    uint32_t l = (uint32_t)len | (is_error ? ERROR_BIT : 0);
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | l);
}

/* Packs v as MessagePack; an error value when v cannot be encoded. */
static int64_t pack_exception(void);
static int64_t pack_value(JSValueConst v, int is_error) {
    Buf b;
    if (encode_all(ctx, v, &b) < 0) return is_error ? 0 : pack_exception();
    return pack(b.p, b.len, is_error);
}

/* {code: 500, message} when even the error cannot be described. */
static int64_t pack_fallback_error(void) {
    static const char msg[] = "\x82\xa4" "code" "\xcd\x01\xf4" "\xa7" "message" "\xd9\x2f" "the script threw a value that cannot be returned";
    size_t len = sizeof msg - 1;
    char *out = malloc(len);
    if (!out) return 0;
    memcpy(out, msg, len);
    return pack(out, len, 1);
}

/* The pending exception as a packed {code, message} error value. */
static int64_t pack_exception(void) {
    JSValue e = JS_GetException(ctx);
    JSValue err = JS_Call(ctx, fn_error, JS_UNDEFINED, 1, &e);
    JS_FreeValue(ctx, e);
    if (JS_IsException(err)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return pack_fallback_error();
    }
    int64_t r = pack_value(err, 1);
    JS_FreeValue(ctx, err);
    if (r == 0) { JS_FreeValue(ctx, JS_GetException(ctx)); return pack_fallback_error(); }
    return r;
}

/* The natives behind Process, Store, FS, http and Query (prelude.js): one
 * function per `yao` import, told apart by `magic`. Each takes its string
 * arguments (names, methods, keys, roots: raw UTF-8, as String(x)), then at
 * most one value to encode (the args array, or the value of store_set), then
 * for store_set the ttl in whole seconds. It returns the decoded result (nil
 * is null), or throws `new Exception(message, code)` with the host's error. */
enum { HOST_PROCESS, HOST_STORE, HOST_STORE_GET, HOST_STORE_SET, HOST_STORE_DEL, HOST_FS, HOST_HTTP, HOST_QUERY, HOST_CONTEXT, HOST_TASKS, HOST_SLEEP };
static const uint8_t host_strings[] = { 1, 2, 2, 2, 2, 2, 1, 0, 0, 1, 0 };
static const uint8_t host_value[] = { 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0 };

static JSValue js_host(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv, int magic) {
    const char *s[2] = { NULL, NULL };
    size_t n[2] = { 0, 0 };
    int ns = host_strings[magic];
    Buf val = {0};
    int64_t ttl = 0;
    JSValue out = JS_EXCEPTION;
    if (argc < ns + host_value[magic] + (magic == HOST_STORE_SET) + (magic == HOST_SLEEP)) return JS_ThrowTypeError(c, "yaowasm host call: missing arguments");
    for (int i = 0; i < ns; i++) {
        s[i] = JS_ToCStringLen(c, &n[i], argv[i]);
        if (!s[i]) goto done;
    }
    if (host_value[magic] && encode_all(c, argv[ns], &val) < 0) goto done;
    if (magic == HOST_STORE_SET && JS_ToInt64(c, &ttl, argv[3]) < 0) goto done;
    if (magic == HOST_SLEEP && JS_ToInt64(c, &ttl, argv[0]) < 0) goto done; /* ttl holds the ms */
#define P(i) (int32_t)(uintptr_t)s[i], (int32_t)n[i]
#define V (int32_t)(uintptr_t)val.p, (int32_t)val.len
    int64_t packed = 0;
    switch (magic) {
    case HOST_PROCESS: packed = yao_process(P(0), V); break;
    case HOST_STORE: packed = yao_store(P(0), P(1), V); break;
    case HOST_STORE_GET: packed = yao_store_get(P(0), P(1)); break;
    case HOST_STORE_SET: packed = yao_store_set(P(0), P(1), V, ttl); break;
    case HOST_STORE_DEL: packed = yao_store_del(P(0), P(1)); break;
    case HOST_FS: packed = yao_fs(P(0), P(1), V); break;
    case HOST_HTTP: packed = yao_http(P(0), V); break;
    case HOST_QUERY: packed = yao_query(V); break;
    case HOST_CONTEXT: packed = yao_context(); break;
    case HOST_TASKS: packed = yao_tasks(P(0), V); break;
    case HOST_SLEEP: packed = yao_sleep(ttl); break;
    }
#undef P
#undef V
    uint32_t len = (uint32_t)packed;
    uint8_t *ptr = (uint8_t *)(uintptr_t)(uint32_t)((uint64_t)packed >> 32);
    int is_error = (len & ERROR_BIT) != 0;
    len &= ~ERROR_BIT;
    out = (len == 0 && !is_error) ? JS_NULL : decode_all(c, ptr, len);
    if (ptr) free(ptr); /* the host wrote it through yao_alloc */
    if (is_error && !JS_IsException(out)) {
        /* {code, message} → new Exception(message, code), which keeps both. */
        JSValue args[2] = { JS_UNDEFINED, JS_UNDEFINED };
        if (JS_IsObject(out)) {
            args[0] = JS_GetPropertyStr(c, out, "message");
            args[1] = JS_GetPropertyStr(c, out, "code");
        }
        JSValue e = JS_CallConstructor(c, ctor_exception, 2, args);
        JS_FreeValue(c, args[0]);
        JS_FreeValue(c, args[1]);
        JS_FreeValue(c, out);
        out = JS_IsException(e) ? e : JS_Throw(c, e);
    }
done:
    for (int i = 0; i < 2; i++) if (s[i]) JS_FreeCString(c, s[i]);
    free(val.p);
    return out;
}

/* __yao_log_raw(level, text) */
static JSValue js_log_raw(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t level = 2;
    size_t len;
    JS_ToInt32(c, &level, argv[0]);
    const char *s = JS_ToCStringLen(c, &len, argv[1]);
    if (!s) return JS_EXCEPTION;
    yao_log(level, (int32_t)(uintptr_t)s, (int32_t)len);
    JS_FreeCString(c, s);
    return JS_UNDEFINED;
}

/* Math.random: xorshift64*, seeded from WASI random_get on first use in each
 * instance, so a snapshot never hands every call the same sequence. */
static JSValue js_random(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
    while (random_state == 0) {
        if (getentropy(&random_state, sizeof random_state) != 0) random_state = 0x9E3779B97F4A7C15ull;
    }
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    uint64_t r = random_state * 0x2545F4914F6CDD1Dull;
    return JS_NewFloat64(c, (double)(r >> 11) * (1.0 / 9007199254740992.0));
}

/* Builds the runtime, the context and the prelude. The snapshot step
 * (src/js.rs, wasmtime-wizer) runs this once; without a snapshot,
 * yao_js_call runs it on first use in each instance. */
__attribute__((export_name("yao_js_init")))
void yao_js_init(void) {
    if (ctx) return;
    rt = JS_NewRuntime();
    /* Below the 1 MiB C stack (build.sh), so deep JS recursion is a
     * RangeError the script can catch rather than a trap. */
    JS_SetMaxStackSize(rt, 512 * 1024);
    ctx = JS_NewContext(rt);
    JSValue g = JS_GetGlobalObject(ctx);
    static const char *const host_names[] = { "process", "store", "store_get", "store_set", "store_del", "fs", "http", "query", "context", "tasks", "sleep" };
    JSValue host = JS_NewObject(ctx);
    for (int i = 0; i < (int)(sizeof host_names / sizeof *host_names); i++)
        JS_SetPropertyStr(ctx, host, host_names[i], JS_NewCFunctionMagic(ctx, js_host, host_names[i], 4, JS_CFUNC_generic_magic, i));
    JS_SetPropertyStr(ctx, g, "__yao_host", host);
    JS_SetPropertyStr(ctx, g, "__yao_log_raw", JS_NewCFunction(ctx, js_log_raw, "__yao_log_raw", 2));
    JS_SetPropertyStr(ctx, g, "__yao_random", JS_NewCFunction(ctx, js_random, "random", 0));
    JS_FreeValue(ctx, g);
    JSValue helpers = JS_Eval(ctx, (const char *)yao_prelude_js, yao_prelude_js_len, "<yaowasm prelude>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(helpers)) __builtin_trap(); /* a broken prelude is a build bug */
    fn_invoke = JS_GetPropertyStr(ctx, helpers, "invoke");
    fn_error = JS_GetPropertyStr(ctx, helpers, "error");
    ctor_exception = JS_GetPropertyStr(ctx, helpers, "Exception");
    JS_FreeValue(ctx, helpers);
    random_state = 0;
}

/* Runs queued promise jobs, then unwraps a settled promise. */
static JSValue settle(JSValue v) {
    if (JS_IsException(v) || JS_PromiseState(ctx, v) == JS_PROMISE_NOT_A_PROMISE) return v;
    JSContext *job_ctx;
    while (JS_ExecutePendingJob(rt, &job_ctx) > 0) {}
    JSValue r;
    switch (JS_PromiseState(ctx, v)) {
    case JS_PROMISE_FULFILLED:
        r = JS_PromiseResult(ctx, v);
        break;
    case JS_PROMISE_REJECTED:
        r = JS_Throw(ctx, JS_PromiseResult(ctx, v));
        break;
    default:
        r = JS_ThrowTypeError(ctx, "the function returned a promise that never settled (yaowasm has no event loop)");
    }
    JS_FreeValue(ctx, v);
    return r;
}

/* Evaluates the script's bytecode: its top level, which defines
 * __yao_exports. Returns 0, or the packed error value of a throw. */
static int64_t load_script(const uint8_t *code, size_t len) {
    yao_js_init();
    JSValue fun = JS_ReadObject(ctx, code, len, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(fun)) return pack_exception();
    JSValue top = JS_EvalFunction(ctx, fun); /* takes fun */
    if (JS_IsException(top)) return pack_exception();
    JS_FreeValue(ctx, top);
    return 0;
}

/* Calls function `fn` of the loaded script with the MessagePack args array;
 * returns the packed MessagePack result (0 = nil for undefined) or a packed
 * error value. */
static int64_t invoke_loaded(const char *fn, size_t fn_len, const uint8_t *args, size_t args_len) {
    JSValue argv[2];
    argv[0] = JS_NewStringLen(ctx, fn, fn_len);
    argv[1] = args_len > 0 ? decode_all(ctx, args, args_len) : JS_NewArray(ctx);
    if (JS_IsException(argv[1])) { JS_FreeValue(ctx, argv[0]); return pack_exception(); }
    JSValue ret = settle(JS_Call(ctx, fn_invoke, JS_UNDEFINED, 2, argv));
    JS_FreeValue(ctx, argv[0]);
    JS_FreeValue(ctx, argv[1]);
    if (JS_IsException(ret)) return pack_exception();
    int64_t r = JS_IsUndefined(ret) ? 0 : pack_value(ret, 0);
    JS_FreeValue(ctx, ret);
    /* No teardown: the instance is dropped after this call. */
    return r;
}

/* Evaluates the script's bytecode (which defines __yao_exports), calls
 * function `fn` with the MessagePack args array, and returns the packed
 * MessagePack result (0 = nil for undefined) or a packed error value. */
__attribute__((export_name("yao_js_call")))
int64_t yao_js_call(int32_t code_ptr, int32_t code_len, int32_t fn_ptr, int32_t fn_len, int32_t args_ptr, int32_t args_len) {
    int64_t loaded = load_script((const uint8_t *)(uintptr_t)code_ptr, (size_t)code_len);
    if (loaded) return loaded;
    return invoke_loaded((const char *)(uintptr_t)fn_ptr, (size_t)fn_len, (const uint8_t *)(uintptr_t)args_ptr, (size_t)args_len);
}

/* The per-script snapshot (src/js/snapshot.rs): the host runs this once,
 * at a script's first call, in an instance whose imports all trap, then
 * keeps what it changed in memory; each call restores that and runs
 * yao_js_invoke. The bytecode block (the host's, from yao_alloc) is freed
 * here; the host leaves its inside out of what calls restore (a memset
 * before free would be removed by the compiler anyway). Returns 0, or the
 * packed error value of a throw. */
__attribute__((export_name("yao_js_load")))
int64_t yao_js_load(int32_t code_ptr, int32_t code_len) {
    uint8_t *code = (uint8_t *)(uintptr_t)code_ptr;
    int64_t r = load_script(code, (size_t)code_len);
    free(code);
    return r;
}

/* Calls function `fn` of the script yao_js_load evaluated (in this
 * instance, or in the snapshot restored into it). */
__attribute__((export_name("yao_js_invoke")))
int64_t yao_js_invoke(int32_t fn_ptr, int32_t fn_len, int32_t args_ptr, int32_t args_len) {
    return invoke_loaded((const char *)(uintptr_t)fn_ptr, (size_t)fn_len, (const uint8_t *)(uintptr_t)args_ptr, (size_t)args_len);
}

/* The C stack's bounds (wasm-ld's __stack_low/__stack_high), low << 32 |
 * high: everything in it is dead once an export returns, so the snapshot
 * leaves it out. */
extern char __stack_low[], __stack_high[];
__attribute__((export_name("yao_js_stack")))
int64_t yao_js_stack(void) {
    return (int64_t)(((uint64_t)(uintptr_t)__stack_low << 32) | (uint32_t)(uintptr_t)__stack_high);
}

/* Compiles bundled script source to bytecode (for `yaowasm build`).
 * Returns the bytecode packed, or a packed {code: 400, message} error
 * whose message carries file:line:col. The source text is never kept
 * (JS_WRITE_OBJ_STRIP_SOURCE); flags bit 0 (`--strip-debug`) drops the
 * debug information too: file names, line and column tables. */
__attribute__((export_name("yao_js_compile")))
int64_t yao_js_compile(int32_t src_ptr, int32_t src_len, int32_t name_ptr, int32_t name_len, int32_t flags) {
    yao_js_init();
    char name[256];
    size_t n = name_len < 0 ? 0 : (size_t)name_len;
    if (n > sizeof name - 1) n = sizeof name - 1;
    memcpy(name, (const char *)(uintptr_t)name_ptr, n);
    name[n] = 0;
    JSValue fun = JS_Eval(ctx, (const char *)(uintptr_t)src_ptr, (size_t)src_len, name,
                          JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(fun)) {
        /* A syntax error: String(e) and its stack, which names file:line:col. */
        JSValue e = JS_GetException(ctx);
        JSValue stack = JS_GetPropertyStr(ctx, e, "stack");
        JSValue msg = JS_ToString(ctx, e);
        JSValue err = JS_NewObject(ctx);
        JS_SetPropertyStr(ctx, err, "code", JS_NewInt32(ctx, 400));
        if (JS_IsString(stack)) {
            JSValue parts[2] = { msg, stack };
            JSValue joined = JS_NewArray(ctx);
            JS_SetPropertyUint32(ctx, joined, 0, JS_DupValue(ctx, parts[0]));
            JS_SetPropertyUint32(ctx, joined, 1, JS_DupValue(ctx, parts[1]));
            JSValue join = JS_GetPropertyStr(ctx, joined, "join");
            JSValue sep = JS_NewString(ctx, "\n");
            JS_SetPropertyStr(ctx, err, "message", JS_Call(ctx, join, joined, 1, &sep));
            JS_FreeValue(ctx, sep);
            JS_FreeValue(ctx, join);
            JS_FreeValue(ctx, joined);
        } else {
            JS_SetPropertyStr(ctx, err, "message", JS_DupValue(ctx, msg));
        }
        int64_t r = pack_value(err, 1);
        JS_FreeValue(ctx, err);
        JS_FreeValue(ctx, msg);
        JS_FreeValue(ctx, stack);
        JS_FreeValue(ctx, e);
        return r ? r : pack_fallback_error();
    }
    size_t size = 0;
    uint8_t *bytes = JS_WriteObject(ctx, &size, fun, JS_WRITE_OBJ_BYTECODE | JS_WRITE_OBJ_STRIP_SOURCE
                                  | ((flags & 1) ? JS_WRITE_OBJ_STRIP_DEBUG : 0));
    JS_FreeValue(ctx, fun);
    if (!bytes) return pack_exception();
    /* JS_WriteObject's block comes from QuickJS's allocator, malloc here;
     * the host only reads it before the instance is dropped. */
    return pack(bytes, size, 0);
}
