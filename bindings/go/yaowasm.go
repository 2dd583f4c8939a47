// Package yaowasm runs Yao scripts compiled to WebAssembly from Go, over
// libyaowasm's C API (include/yaowasm.h) through cgo.
//
// A Runtime is safe for concurrent use by any number of goroutines; calls
// run in parallel. Values cross as MessagePack (github.com/vmihailenco/msgpack/v5):
// arguments may be any Go value it encodes (structs use their `json` tags);
// results come back as nil, bool, int (uint64 beyond int64), float64,
// string, []byte, []any and map[string]any.
//
// How the library is found (cgo flags) is described in README.md.
package yaowasm

/*
#include <stdlib.h>
#include "yw.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Status codes of the C API (SPEC §4). A guest or a handler may raise any
// other code in 100–599.
const (
	CodeBadRequest = 400
	CodeForbidden  = 403
	CodeNotFound   = 404
	CodeTimeout    = 408
	CodeTooLarge   = 413
	CodeInternal   = 500
)

// Config is the runtime configuration (SPEC §4, the README's config table,
// docs/ABI.md §9 for the host API keys); zero fields take the library's
// defaults, and the library validates every field (a bad one is a 400
// naming its key).
type Config struct {
	MaxMemoryMB int    `json:"max_memory_mb,omitempty"` // default 64
	TimeoutMs   int    `json:"timeout_ms,omitempty"`    // default 1000, per top-level Exec
	CacheDir    string `json:"cache_dir,omitempty"`     // precompiled modules
	CacheMaxMB  int    `json:"cache_max_mb,omitempty"`  // default 512: least recently used modules go past it
	MaxDepth    int    `json:"max_depth,omitempty"`     // default 32
	// Engines calls are spread over by the CPU they start on; default the
	// CPUs (1, 2 or 4). A Go host calling from many goroutines gets the
	// most from one per CPU.
	EngineShards int `json:"engine_shards,omitempty"`
	// How memory is reset between calls: "auto" (default), "pagemap"
	// (needs Linux 6.7+) or "fallback".
	MemoryReset string      `json:"memory_reset,omitempty"`
	WASI        *WASIConfig `json:"wasi,omitempty"`
	// Host API (docs/ABI.md §5-§9).
	HTTPAllow            []string               `json:"http_allow,omitempty"`              // host:port or *.domain; default none
	HTTPMaxResponseBytes int64                  `json:"http_max_response_bytes,omitempty"` // default 10 MiB
	HTTPMaxUploadBytes   int64                  `json:"http_max_upload_bytes,omitempty"`   // default 256 MiB
	HTTPMaxUploadFiles   int                    `json:"http_max_upload_files,omitempty"`   // default 100
	HTTPTimeoutMs        int                    `json:"http_timeout_ms,omitempty"`         // default 30000
	HTTPCAFile           string                 `json:"http_ca_file,omitempty"`            // extra CAs (PEM) for https
	Stores               map[string]StoreConfig `json:"stores,omitempty"`                  // name -> backend; default memory
	FS                   map[string]string      `json:"fs,omitempty"`                      // root name ("system", "data") -> folder
	FSReadOnly           []string               `json:"fs_read_only,omitempty"`            // roots scripts may read but not change
}

// StoreConfig is one named store's backend (docs/ABI.md §9). With the gou
// adapter, Backend "process" sends the store's calls to gou's own stores
// (stores.<name>.<Method>).
type StoreConfig struct {
	Backend    string `json:"backend,omitempty"`     // "memory" (default), "process" or "redis"
	URL        string `json:"url,omitempty"`         // redis: redis://host:port/db
	Prefix     string `json:"prefix,omitempty"`      // redis: key prefix (default yao:store:<bytes of name>:<name>:)
	MaxEntries int64  `json:"max_entries,omitempty"` // memory: default 100000
	MaxBytes   int64  `json:"max_bytes,omitempty"`   // memory: default 64 MiB (keys + values + 64 per entry)
}

// WASIConfig maps guest paths to host folders.
type WASIConfig struct {
	Preopen  map[string]string `json:"preopen,omitempty"`
	ReadOnly []string          `json:"read_only,omitempty"` // preopens (guest paths) opened read-only
}

// Error is a failure with a Yao code (SPEC §4) and a message.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Errorf makes an *Error; return it from a process handler to answer the
// guest with that code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Coder is implemented by errors that carry a Yao code.
type Coder interface{ YaoCode() int }

// Code is the Yao code of err: 0 for nil, the code of an *Error or a Coder,
// 408 for a context deadline or cancel, else 500. Codes outside 100–599
// are 500.
func Code(err error) int {
	if err == nil {
		return 0
	}
	code := CodeInternal
	var e *Error
	var c Coder
	switch {
	case errors.As(err, &e):
		code = e.Code
	case errors.As(err, &c):
		code = c.YaoCode()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = CodeTimeout
	}
	if code < 100 || code > 599 {
		return CodeInternal
	}
	return code
}

func message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// ProcessHandler answers the guests' yao.process calls that the runtime does
// not serve itself. ctx is the context of the innermost Exec of the chain;
// CallContextFrom(ctx) is the call context (session, globals,
// authorization) the call runs with, at any depth. A returned error answers
// with Code(err).
type ProcessHandler func(ctx context.Context, name string, args []any) (any, error)

// CallContext is who a call runs for (SPEC §3a): the caller's session id,
// globals and authorization info (gou's Process.Sid, Global, Authorized).
// Give it to Exec with WithCallContext; every call nested in that Exec (a
// guest calling scripts.*, a handler calling Exec again) runs with it unless
// it brings its own, and the ProcessHandler reads it with CallContextFrom.
// The runtime never interprets it. Nil maps mean none.
type CallContext struct {
	Sid        string         `msgpack:"sid"`
	Global     map[string]any `msgpack:"global"`
	Authorized map[string]any `msgpack:"authorized"`
}

type callContextKey struct{}

// WithCallContext returns a ctx that makes Exec run its call with cc.
func WithCallContext(ctx context.Context, cc CallContext) context.Context {
	return context.WithValue(ctx, callContextKey{}, cc)
}

// CallContextFrom is the call context ctx carries: inside a ProcessHandler,
// the one the guest's call runs with; false when it runs without one.
func CallContextFrom(ctx context.Context) (CallContext, bool) {
	cc, ok := ctx.Value(callContextKey{}).(CallContext)
	return cc, ok
}

// LogHandler receives yao.log records and WASI stdout/stderr lines; level
// is 0 trace, 1 debug, 2 info, 3 warn, 4 error.
type LogHandler func(level int, message string)

// Runtime is a set of loaded scripts with the host's handlers.
type Runtime struct {
	mu       sync.Mutex
	idle     *sync.Cond
	inflight int
	rt       *C.yaowasm_runtime
	handles  []cgo.Handle
	ids      atomic.Pointer[map[string]bool]
}

// New makes a runtime. A bad config is a 400 *Error.
func New(cfg Config) (*Runtime, error) {
	text, err := json.Marshal(cfg)
	if err != nil {
		return nil, &Error{CodeBadRequest, err.Error()}
	}
	ctext := C.CString(string(text))
	defer C.free(unsafe.Pointer(ctext))
	runtime.LockOSThread() // yaowasm_last_error is per thread
	var rt *C.yaowasm_runtime
	code := C.yaowasm_runtime_new(ctext, &rt)
	msg := lastError()
	runtime.UnlockOSThread()
	if code != 0 {
		return nil, &Error{int(code), msg}
	}
	r := &Runtime{rt: rt}
	r.idle = sync.NewCond(&r.mu)
	r.ids.Store(&map[string]bool{})
	r.SetLogHandler(nil)
	// Most servers run a kernel before Linux 6.7: say once what that costs,
	// unless the config asked for the fallback.
	if cfg.MemoryReset != "fallback" {
		if st, err := r.Stats(); err == nil && st.MemoryReset == "fallback" {
			slog.Default().Warn("yaowasm: this kernel has no PAGEMAP_SCAN (Linux 6.7+): memory is reset between calls by the fallback, under which Go and TS calls take ~3-5x longer (docs/DEPLOY.md)", "source", "yaowasm")
		}
	}
	return r, nil
}

func lastError() string {
	if p := C.yaowasm_last_error(); p != nil {
		return C.GoString(p)
	}
	return ""
}

// Version is the library's version.
func Version() string { return C.GoString(C.yaowasm_version()) }

func (r *Runtime) enter() (*C.yaowasm_runtime, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt == nil {
		return nil, &Error{CodeBadRequest, "runtime is closed"}
	}
	r.inflight++
	return r.rt, nil
}

func (r *Runtime) leave() {
	r.mu.Lock()
	r.inflight--
	if r.inflight == 0 {
		r.idle.Broadcast()
	}
	r.mu.Unlock()
}

// Close waits for the calls in flight, then frees the runtime. Idempotent.
// Do not call it from inside a handler of this runtime (it would wait for
// itself).
func (r *Runtime) Close() error {
	r.mu.Lock()
	rt := r.rt
	r.rt = nil
	for r.inflight > 0 {
		r.idle.Wait()
	}
	handles := r.handles
	r.handles = nil
	r.mu.Unlock()
	if rt != nil {
		C.yaowasm_runtime_free(rt)
	}
	for _, h := range handles {
		h.Delete()
	}
	return nil
}

// Problem is one file that LoadDir did not load.
type Problem struct {
	File    string `msgpack:"file"`
	ID      string `msgpack:"id"` // "" when the file maps to no script ID
	Code    int    `msgpack:"code"`
	Message string `msgpack:"message"`
}

// LoadReport says what LoadDir did (the C API's MessagePack load report).
type LoadReport struct {
	Loaded   int       `msgpack:"loaded"`   // scripts now served from the folder
	Problems []Problem `msgpack:"problems"` // files skipped; the others loaded
}

// LoadDir loads (or atomically reloads) every .wasm under dir
// (dir/a/b.wasm is script a.b). Files that fail are listed in the report's
// Problems and do not stop the others; an unreadable dir is an error.
func (r *Runtime) LoadDir(dir string) (LoadReport, error) {
	rt, err := r.enter()
	if err != nil {
		return LoadReport{}, err
	}
	defer r.leave()
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var out C.yaowasm_buf
	runtime.LockOSThread()
	code := C.yaowasm_runtime_load_dir(rt, cdir, &out)
	text := lastError()
	runtime.UnlockOSThread()
	data := take(out)
	if code != 0 {
		return LoadReport{}, &Error{int(code), text}
	}
	var report LoadReport
	if err := unmarshalStrict(data, &report); err != nil {
		return LoadReport{}, &Error{CodeInternal, "load report cannot be decoded: " + err.Error()}
	}
	r.refreshIDs(rt)
	return report, nil
}

// LoadFile loads one .wasm as script id ("" : the file name without
// extension).
func (r *Runtime) LoadFile(path, id string) error {
	rt, err := r.enter()
	if err != nil {
		return err
	}
	defer r.leave()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cid *C.char
	if id != "" {
		cid = C.CString(id)
		defer C.free(unsafe.Pointer(cid))
	}
	runtime.LockOSThread()
	code := C.yaowasm_runtime_load_file(rt, cpath, cid)
	text := lastError()
	runtime.UnlockOSThread()
	if code != 0 {
		return &Error{int(code), text}
	}
	r.refreshIDs(rt)
	return nil
}

// Unload removes script id (404 if it is not loaded).
func (r *Runtime) Unload(id string) error {
	rt, err := r.enter()
	if err != nil {
		return err
	}
	defer r.leave()
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	runtime.LockOSThread()
	code := C.yaowasm_runtime_unload(rt, cid)
	text := lastError()
	runtime.UnlockOSThread()
	if code != 0 {
		return &Error{int(code), text}
	}
	r.refreshIDs(rt)
	return nil
}

// Script describes one loaded script.
type Script struct {
	ID        string   `msgpack:"id"`
	File      string   `msgpack:"file"`
	Functions []string `msgpack:"functions"`
	Shadows   []string `msgpack:"shadows"`
	Encoding  string   `msgpack:"encoding"`
	WASI      bool     `msgpack:"wasi"`
	Size      int64    `msgpack:"size"`
}

// List describes the loaded scripts, sorted by ID.
func (r *Runtime) List() ([]Script, error) {
	rt, err := r.enter()
	if err != nil {
		return nil, err
	}
	defer r.leave()
	return list(rt)
}

func list(rt *C.yaowasm_runtime) ([]Script, error) {
	var out C.yaowasm_buf
	runtime.LockOSThread()
	code := C.yaowasm_runtime_list(rt, &out)
	text := lastError()
	runtime.UnlockOSThread()
	data := take(out)
	if code != 0 {
		return nil, &Error{int(code), text}
	}
	var scripts []Script
	if err := unmarshalStrict(data, &scripts); err != nil {
		return nil, &Error{CodeInternal, err.Error()}
	}
	return scripts, nil
}

// ScriptStats is one script's call counters: calls finished (nested ones
// included) since it was first loaded; a reload of a changed file keeps
// them, an unload drops them.
type ScriptStats struct {
	ID       string `msgpack:"id"`
	Calls    uint64 `msgpack:"calls"`
	Errors   uint64 `msgpack:"errors"`   // calls that ended with any error code
	Timeouts uint64 `msgpack:"timeouts"` // of those, 408s
	BusyUs   uint64 `msgpack:"busy_us"`  // wall time in these calls, µs
}

// Stats is what Runtime.Stats answers.
type Stats struct {
	Scripts        []ScriptStats `msgpack:"scripts"`          // one per loaded script, sorted by ID
	InstancesInUse uint64        `msgpack:"instances_in_use"` // calls in flight, nested ones included
	InstanceSlots  uint64        `msgpack:"instance_slots"`   // the pool's size; past it, calls wait
	MemoryReset    string        `msgpack:"memory_reset"`     // "pagemap" or "fallback" (Linux before 6.7)
}

// Stats reads the runtime's counters (yaowasm_runtime_stats).
func (r *Runtime) Stats() (Stats, error) {
	rt, err := r.enter()
	if err != nil {
		return Stats{}, err
	}
	defer r.leave()
	var out C.yaowasm_buf
	runtime.LockOSThread()
	code := C.yaowasm_runtime_stats(rt, &out)
	text := lastError()
	runtime.UnlockOSThread()
	data := take(out)
	if code != 0 {
		return Stats{}, &Error{int(code), text}
	}
	var stats Stats
	if err := unmarshalStrict(data, &stats); err != nil {
		return Stats{}, &Error{CodeInternal, err.Error()}
	}
	return stats, nil
}

func (r *Runtime) refreshIDs(rt *C.yaowasm_runtime) {
	scripts, err := list(rt)
	if err != nil {
		return
	}
	ids := make(map[string]bool, len(scripts))
	for _, s := range scripts {
		ids[s.ID] = true
	}
	r.ids.Store(&ids)
}

// HasScript tells whether script id (lower case, as gou's Process.ID) is
// loaded. It reads a snapshot taken after the last load or unload.
func (r *Runtime) HasScript(id string) bool { return (*r.ids.Load())[id] }

func take(buf C.yaowasm_buf) []byte {
	defer C.yaowasm_buf_free(buf)
	if buf.len == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(buf.ptr), C.int(buf.len))
}

// Exec runs process name (scripts.<id>.<Function>) with args in a fresh
// instance and returns its result. Errors are *Error with the Yao code.
//
// ctx bounds the call and every call nested in it: its deadline becomes the
// call's timeout (never beyond the runtime's timeout_ms) and a cancel stops
// the running guest at its next epoch tick (about 1 ms), both ending in 408.
// A ctx already done returns 408 without running. A host callback that
// blocks is not interrupted: the 408 comes when it returns; the
// ProcessHandler gets ctx (the innermost Exec's) to stop early itself.
//
// A ctx made by WithCallContext runs the call with that call context
// (session, globals, authorization); without one, a nested Exec (from a
// ProcessHandler) runs with its caller's and a top-level one with none.
func (r *Runtime) Exec(ctx context.Context, name string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{CodeTimeout, "context: " + err.Error()}
	}
	// One pooled buffer holds name\0 and the args (an array, empty for
	// none), then the result.
	eb := getExecBuf()
	defer putExecBuf(eb)
	buf := append(append(eb.b[:0], name...), 0)
	buf, err := appendArray(buf, args)
	eb.b = buf
	if err != nil {
		return nil, &Error{CodeBadRequest, "args cannot be encoded: " + err.Error()}
	}
	argsEnd := len(buf)
	if cc, ok := CallContextFrom(ctx); ok {
		// After the args: the runtime reads it before the result is copied
		// over the buffer.
		buf, err = appendMsgpack(buf, map[string]any{"sid": cc.Sid, "global": cc.Global, "authorized": cc.Authorized})
		eb.b = buf
		if err != nil {
			return nil, &Error{CodeBadRequest, "call context cannot be encoded: " + err.Error()}
		}
	}
	if strings.IndexByte(name, 0) >= 0 {
		return nil, &Error{CodeBadRequest, "name contains a NUL byte"}
	}
	rt, err := r.enter()
	if err != nil {
		return nil, err
	}
	defer r.leave()

	frame := frameAdd(ctx) // for the process callbacks of this call
	budget := execBudget(ctx)
	base := unsafe.Pointer(unsafe.SliceData(buf))
	eb.out = C.yaowasm_buf{}
	// &eb.out literally: cgo then checks that field only, not all of eb.
	var cctx *C.uint8_t
	if len(buf) > argsEnd {
		cctx = (*C.uint8_t)(unsafe.Add(base, argsEnd))
	}
	code := C.yw_exec(rt, (*C.char)(base), (*C.uint8_t)(unsafe.Add(base, len(name)+1)),
		C.size_t(argsEnd-len(name)-1), budget.timeoutMs, budget.cancel(), cctx, C.size_t(len(buf)-argsEnd),
		C.uintptr_t(frame), (*C.uint8_t)(base), C.size_t(cap(buf)), &eb.out)
	out := &eb.out
	budget.release()
	frameDel(frame)
	var data []byte
	if out.len > 0 {
		if out.ptr == nil { // copied into buf by yw_exec
			data = buf[:out.len]
		} else { // too large: read it in place, then free it
			data = unsafe.Slice((*byte)(unsafe.Pointer(out.ptr)), int(out.len))
			defer C.yaowasm_buf_free(*out)
		}
	}
	if code != 0 {
		return nil, &Error{int(code), string(data)}
	}
	if len(data) == 0 {
		return nil, nil
	}
	value, err := unmarshal(data)
	if err != nil {
		return nil, &Error{CodeInternal, "result cannot be decoded: " + err.Error()}
	}
	return value, nil
}

// execBuf is the per-call scratch of Exec and of process callbacks.
type execBuf struct {
	out C.yaowasm_buf // C gets a pointer to this field alone
	b   []byte
}

const (
	execBufSize    = 4 << 10  // a new buffer's capacity
	execBufMaxKeep = 64 << 10 // larger ones are not pooled
)

var execBufs = sync.Pool{New: func() any { return &execBuf{b: make([]byte, 0, execBufSize)} }}

func getExecBuf() *execBuf { return execBufs.Get().(*execBuf) }

func putExecBuf(eb *execBuf) {
	if cap(eb.b) > execBufMaxKeep {
		eb.b = make([]byte, 0, execBufSize)
	}
	execBufs.Put(eb)
}

// SetProcessHandler sets the handler for guests' yao.process calls that the
// runtime does not serve itself (nil removes it: those calls get 404).
// It runs on the goroutine that called Exec and may call Exec again.
func (r *Runtime) SetProcessHandler(fn ProcessHandler) {
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(fn)
	}
	r.setHandler(h, func(rt *C.yaowasm_runtime) { C.yw_set_process_handler(rt, C.uintptr_t(h)) })
}

// SetLogHandler sets the log hook. nil (the default) sends records to
// slog.Default() with the attribute source=yaowasm: 0 → Debug-4, 1 Debug,
// 2 Info, 3 Warn, 4 Error.
func (r *Runtime) SetLogHandler(fn LogHandler) {
	if fn == nil {
		fn = slogHandler
	}
	h := cgo.NewHandle(fn)
	r.setHandler(h, func(rt *C.yaowasm_runtime) { C.yw_set_log_handler(rt, C.uintptr_t(h)) })
}

// setHandler keeps h alive until Close: calls already running keep the
// handler they started with.
func (r *Runtime) setHandler(h cgo.Handle, set func(*C.yaowasm_runtime)) {
	rt, err := r.enter()
	if err != nil {
		if h != 0 {
			h.Delete()
		}
		return
	}
	defer r.leave()
	if h != 0 {
		r.mu.Lock()
		r.handles = append(r.handles, h)
		r.mu.Unlock()
	}
	set(rt)
}

// LogLevels maps yaowasm log levels to slog levels.
var LogLevels = [...]slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func slogHandler(level int, msg string) {
	l := slog.LevelWarn
	if level >= 0 && level < len(LogLevels) {
		l = LogLevels[level]
	}
	slog.Default().Log(context.Background(), l, msg, "source", "yaowasm")
}
