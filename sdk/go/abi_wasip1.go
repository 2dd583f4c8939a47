//go:build wasip1

// The raw guest ABI (SPEC §3): the `yao` imports and the memory exports.
// Everything else in the package goes through the host* functions, pack and
// readArgs of this file.

package yao

import "unsafe"

//go:wasmimport yao process
func yaoProcess(namePtr unsafe.Pointer, nameLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao log
func yaoLog(level uint32, msgPtr unsafe.Pointer, msgLen uint32)

// The host API (docs/ABI.md §4–§8). Strings are raw UTF-8 (ptr, len) pairs;
// args are the encoded args array; store_set's value is one encoded value.

//go:wasmimport yao store
func yaoStore(namePtr unsafe.Pointer, nameLen uint32, methodPtr unsafe.Pointer, methodLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao store_get
func yaoStoreGet(namePtr unsafe.Pointer, nameLen uint32, keyPtr unsafe.Pointer, keyLen uint32) uint64

//go:wasmimport yao store_set
func yaoStoreSet(namePtr unsafe.Pointer, nameLen uint32, keyPtr unsafe.Pointer, keyLen uint32, valuePtr unsafe.Pointer, valueLen uint32, ttlSeconds int64) uint64

//go:wasmimport yao store_del
func yaoStoreDel(namePtr unsafe.Pointer, nameLen uint32, keyPtr unsafe.Pointer, keyLen uint32) uint64

//go:wasmimport yao fs
func yaoFS(rootPtr unsafe.Pointer, rootLen uint32, methodPtr unsafe.Pointer, methodLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao http
func yaoHTTP(methodPtr unsafe.Pointer, methodLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao query
func yaoQuery(argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao context
func yaoContext() uint64

//go:wasmimport yao tasks
func yaoTasks(methodPtr unsafe.Pointer, methodLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao sleep
func yaoSleep(ms int64) uint64

// pinned keeps every buffer handed to the host alive (Go's collector does
// not move objects, so an address stays valid while the slice is
// referenced) until it is read back, freed with yao_free, or released at
// the start of the next script call.
var pinned = map[uint32][]byte{}

// yaoAlloc gives the host size bytes to write into. The host writes the
// arguments of a call and the answers of yao.process here.
//
//go:wasmexport yao_alloc
func yaoAlloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	buf := make([]byte, max(size, 1)) // never a zero-size object: it has no address of its own
	ptr := uint32(uintptr(unsafe.Pointer(&buf[0])))
	pinned[ptr] = buf[:size]
	return int32(ptr)
}

// yaoFree lets the host give back a buffer it no longer needs.
//
//go:wasmexport yao_free
func yaoFree(ptr int32, size int32) {
	delete(pinned, uint32(ptr))
}

// take returns the n bytes at ptr that the host wrote into a buffer from
// yao_alloc, and unpins that buffer: the caller owns them now.
func take(ptr, n uint32) []byte {
	if n == 0 {
		delete(pinned, ptr)
		return nil
	}
	if buf, ok := pinned[ptr]; ok && uint32(len(buf)) >= n {
		delete(pinned, ptr)
		return buf[:n]
	}
	// Not a buffer we handed out (the ABI lets the host point anywhere in
	// linear memory, where an address is just an offset from 0): copy it.
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), ptr)), n)...)
}

// pack pins data and returns it as a packed result (ptr << 32 | len, bit 31
// of len for an error). The host reads the result after the call has
// returned, so it stays pinned until the next call starts.
func pack(data []byte, isError bool) uint64 {
	if len(data) == 0 {
		return 0
	}
	ptr := uint32(uintptr(unsafe.Pointer(&data[0])))
	pinned[ptr] = data
	n := uint32(len(data))
	if isError {
		n |= errorBit
	}
	return uint64(ptr)<<32 | uint64(n)
}

// received takes the bytes of a packed result an import just returned.
func received(packed uint64) (answer []byte, isError bool) {
	ptr, n, isError := unpack(packed)
	return take(ptr, n), isError
}

// strArg and bufArg are the (ptr, len) pairs of the imports' arguments; the
// callers keep s and b alive for the duration of the call.
func strArg(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}
func bufArg(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

func hostProcess(name string, args []byte) (answer []byte, isError bool) {
	np, nn := strArg(name)
	ap, an := bufArg(args)
	return received(yaoProcess(np, nn, ap, an))
}

func hostStore(name, method string, args []byte) ([]byte, bool) {
	np, nn := strArg(name)
	mp, mn := strArg(method)
	ap, an := bufArg(args)
	return received(yaoStore(np, nn, mp, mn, ap, an))
}

func hostStoreGet(name, key string) ([]byte, bool) {
	np, nn := strArg(name)
	kp, kn := strArg(key)
	return received(yaoStoreGet(np, nn, kp, kn))
}

func hostStoreSet(name, key string, value []byte, ttlSeconds int64) ([]byte, bool) {
	np, nn := strArg(name)
	kp, kn := strArg(key)
	vp, vn := bufArg(value)
	return received(yaoStoreSet(np, nn, kp, kn, vp, vn, ttlSeconds))
}

func hostStoreDel(name, key string) ([]byte, bool) {
	np, nn := strArg(name)
	kp, kn := strArg(key)
	return received(yaoStoreDel(np, nn, kp, kn))
}

func hostFS(root, method string, args []byte) ([]byte, bool) {
	rp, rn := strArg(root)
	mp, mn := strArg(method)
	ap, an := bufArg(args)
	return received(yaoFS(rp, rn, mp, mn, ap, an))
}

func hostHTTP(method string, args []byte) ([]byte, bool) {
	mp, mn := strArg(method)
	ap, an := bufArg(args)
	return received(yaoHTTP(mp, mn, ap, an))
}

func hostQuery(args []byte) ([]byte, bool) {
	ap, an := bufArg(args)
	return received(yaoQuery(ap, an))
}

func hostContext() ([]byte, bool) {
	return received(yaoContext())
}

func hostTasks(method string, args []byte) ([]byte, bool) {
	mp, mn := strArg(method)
	ap, an := bufArg(args)
	return received(yaoTasks(mp, mn, ap, an))
}

func hostSleep(ms int64) ([]byte, bool) {
	return received(yaoSleep(ms))
}

func hostLog(level Level, msg string) {
	mp, mn := strArg(msg)
	yaoLog(uint32(level), mp, mn)
}

// readArgs is the first thing every script call does: it takes the
// arguments the host just wrote, then releases everything pinned for earlier
// calls (their results, and buffers the host never handed back).
func readArgs(ptr, n uint32) []byte {
	renewRuntimeRand()
	args := take(ptr, n)
	clear(pinned)
	return args
}
