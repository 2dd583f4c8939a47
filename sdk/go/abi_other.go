//go:build !wasip1

// Outside wasm there is no yaowasm host: the package still builds so that
// code using it can be unit-tested with a plain `go test`, and calls go to
// the stand-in set with SetTestHost.

package yao

import (
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// TestHost stands in for the yaowasm host in tests that run outside wasm.
//
// The host API reaches Process too, under the name of the Yao process each
// call mirrors, with the args array the import would get:
// `stores.<name>.<Method>` (the fast paths as Get [key], Set [key, value,
// ttl seconds, 0 for none] and Del [key], the way yaowasm calls a store of
// the `process` backend), `fs.<root>.<Method>`, `http.<Method>` and
// `query.Run`, `tasks.<Method>` (Sleep as `tasks.Sleep` [ms]); CurrentContext asks for `yao.context` with no args (answer
// the map {sid, global, authorized}, or nil for the empty context).
type TestHost interface {
	// Process answers a yao.process call and the host API's calls: the
	// result, or an error (an *Error keeps its code, anything else is a 500).
	Process(name string, args []any) (any, error)
	// Log receives each log record.
	Log(level Level, message string)
}

var (
	testHostMu sync.Mutex
	testHost   TestHost
)

// SetTestHost installs the stand-in host used by Process and Log when the
// package is built for anything but wasip1 (nil removes it: calls then fail
// with a 500). It exists only in non-wasm builds.
func SetTestHost(h TestHost) {
	testHostMu.Lock()
	defer testHostMu.Unlock()
	testHost = h
}

func currentTestHost() TestHost {
	testHostMu.Lock()
	defer testHostMu.Unlock()
	return testHost
}

// hostProcess mirrors the real host: args arrive as MessagePack and the
// answer goes back as MessagePack bytes, so the SDK's codec is exercised.
func hostProcess(name string, args []byte) ([]byte, bool) {
	h := currentTestHost()
	if h == nil {
		return mustMarshalError(Errorf(500, "%s: not running inside yaowasm (no test host set)", name)), true
	}
	decoded, err := decodeArgs(args)
	if err != nil {
		return mustMarshalError(NewError(400, "args: "+err.Error())), true
	}
	result, err := h.Process(name, decoded)
	if err != nil {
		return mustMarshalError(asYaoError(err)), true
	}
	data, err := Marshal(result)
	if err != nil {
		return mustMarshalError(NewError(500, "result: "+err.Error())), true
	}
	return data, false
}

// hostProcessWith sends args, already Go values, through hostProcess.
func hostProcessWith(name string, args ...any) ([]byte, bool) {
	encoded, err := Marshal(args)
	if err != nil {
		return mustMarshalError(NewError(400, "args: "+err.Error())), true
	}
	return hostProcess(name, encoded)
}

func hostStore(name, method string, args []byte) ([]byte, bool) {
	return hostProcess("stores."+name+"."+method, args)
}

func hostStoreGet(name, key string) ([]byte, bool) {
	return hostProcessWith("stores."+name+".Get", key)
}

// hostStoreSet passes the encoded value on untouched, as yaowasm does.
func hostStoreSet(name, key string, value []byte, ttlSeconds int64) ([]byte, bool) {
	return hostProcessWith("stores."+name+".Set", key, msgpack.RawMessage(value), max(ttlSeconds, 0))
}

func hostStoreDel(name, key string) ([]byte, bool) {
	return hostProcessWith("stores."+name+".Del", key)
}

func hostFS(root, method string, args []byte) ([]byte, bool) {
	return hostProcess("fs."+root+"."+method, args)
}

func hostHTTP(method string, args []byte) ([]byte, bool) {
	return hostProcess("http."+method, args)
}

func hostQuery(args []byte) ([]byte, bool) {
	return hostProcess("query.Run", args)
}

func hostContext() ([]byte, bool) {
	return hostProcessWith("yao.context")
}

func hostTasks(method string, args []byte) ([]byte, bool) {
	return hostProcess("tasks."+method, args)
}

func hostSleep(ms int64) ([]byte, bool) {
	return hostProcessWith("tasks.Sleep", ms)
}

func hostLog(level Level, msg string) {
	if h := currentTestHost(); h != nil {
		h.Log(level, msg)
	}
}

// A call outside wasm has no guest memory: Handle's pointer arguments cannot
// be followed there. Tests call the script functions directly.
func readArgs(ptr, n uint32) []byte {
	panic("yao.Handle: script functions can only be called by yaowasm (GOOS=wasip1); unit-test the function itself")
}

func pack(data []byte, isError bool) uint64 {
	panic("yao.Handle: only available under GOOS=wasip1")
}
