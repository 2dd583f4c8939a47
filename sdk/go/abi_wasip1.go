//go:build wasip1

// The raw guest ABI (SPEC §3): the `yao` imports and the memory exports.
// Everything else in the package goes through the four functions at the end
// of this file.

package yao

import "unsafe"

//go:wasmimport yao process
func yaoProcess(namePtr unsafe.Pointer, nameLen uint32, argsPtr unsafe.Pointer, argsLen uint32) uint64

//go:wasmimport yao log
func yaoLog(level uint32, msgPtr unsafe.Pointer, msgLen uint32)

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

func hostProcess(name string, args []byte) (answer []byte, isError bool) {
	packed := yaoProcess(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
		unsafe.Pointer(unsafe.SliceData(args)), uint32(len(args)))
	ptr, n, isError := unpack(packed)
	return take(ptr, n), isError
}

func hostLog(level Level, msg string) {
	yaoLog(uint32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// readArgs is the first thing every script call does: it takes the
// arguments the host just wrote, then releases everything pinned for earlier
// calls (their results, and buffers the host never handed back).
func readArgs(ptr, n uint32) []byte {
	args := take(ptr, n)
	clear(pinned)
	return args
}
