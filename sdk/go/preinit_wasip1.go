//go:build wasip1

// Pre-initialization (docs/ABI.md §2). A Go module spends most of a call
// starting the Go runtime and running package inits (`_initialize`), in
// every fresh instance. yaowasm can instead run `_initialize` once at load,
// keep that memory as the module's image, and start every call from a copy
// of it. The module asks for this by exporting yao_preinit.
//
// What a copy would freeze is the runtime's random state: Go seeds it once,
// from WASI, while starting, and math/rand, math/rand/v2, map seeds and
// hash/maphash all draw from it. yao_preinit finds that state in memory,
// and every script call (readArgs) fills it with fresh entropy before user
// code runs, so no two calls see the same random numbers. The clock needs
// nothing: time.Now asks WASI every time, and the host's monotonic clock is
// one clock for the whole process.

package yao

import (
	"encoding/binary"
	"math/rand/v2"
	"unsafe"
)

// The runtime's per-thread generator is internal/chacha8rand.State, which
// starts with buf [32]uint64 (the block of outputs it hands out in order)
// and then seed [4]uint64 (the key of its next block). yao_preinit finds it
// by what it returns; verifyRuntimeRand proves the layout before it is used.
const (
	chachaBufWords  = 32
	chachaSeedWords = 4
	chachaBytes     = (chachaBufWords + chachaSeedWords) * 8
)

// runtimeRand is the address of that state in linear memory; 0 when the
// module was not pre-initialized (then every call runs _initialize, which
// seeds the runtime itself).
var runtimeRand uintptr

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf unsafe.Pointer, n uint32) uint32

// yaoPreinit runs once, at load, right after _initialize, in an instance
// whose yao imports trap. 1 lets the host snapshot this state; 0 declines
// (the host then runs _initialize in every call, as without it).
//
//go:wasmexport yao_preinit
func yaoPreinit() int32 {
	addr, why := findRuntimeRand()
	if why == "" && !verifyRuntimeRand(addr) {
		why = "the runtime's random state does not have the layout this SDK knows"
	}
	if why != "" {
		println("yao: declining pre-initialization:", why)
		return 0
	}
	runtimeRand = addr
	return 1
}

// renewRuntimeRand gives this call a random state of its own: fresh outputs
// and a fresh key, the position in the block unchanged.
func renewRuntimeRand() {
	if runtimeRand == 0 {
		return
	}
	if errno := randomGet(at(runtimeRand), chachaBytes); errno != 0 {
		panic("yao: WASI random_get failed; the call cannot have random numbers of its own")
	}
}

// at is the pointer to linear-memory address addr (wasm has no other kind
// of address: these are the runtime's globals, never moved).
func at(addr uintptr) unsafe.Pointer { return unsafe.Add(nil, addr) }

func word(addr uintptr) uint64 { return *(*uint64)(at(addr)) }

// findRuntimeRand returns the address of the runtime's buf[0], or why not.
//
// rand.Uint64 returns the runtime's buf[i] and moves to buf[i+1], so the
// first value is looked up among the globals and the heap below a fresh
// object (the stack holds copies of it too), and each next value keeps only
// the candidates whose next word it is. When none is left the runtime has
// refilled its block in place, and that value is the new buf[0].
func findRuntimeRand() (uintptr, string) {
	var cands [16]uintptr
	n := 0
	x := rand.Uint64()
	hi := uintptr(unsafe.Pointer(new([64]byte)))
	for p := uintptr(4096); p+8 <= hi && n < len(cands); p += 8 {
		if word(p) == x {
			cands[n] = p
			n++
		}
	}
	if n == 0 {
		return 0, "the runtime's random state was not found in memory"
	}
	for range chachaBufWords + 1 {
		y := rand.Uint64()
		kept := 0
		for _, c := range cands[:n] {
			if word(c+8) == y {
				cands[kept] = c + 8
				kept++
			}
		}
		if kept > 0 {
			n = kept
			continue
		}
		found := uintptr(0)
		for _, c := range cands[:n] {
			for p := c - (chachaBufWords-1)*8; p <= c; p += 8 {
				if word(p) == y {
					if found != 0 && found != p {
						return 0, "the runtime's random state is ambiguous"
					}
					found = p
				}
			}
		}
		if found == 0 {
			return 0, "the runtime's random block was not where it was refilled"
		}
		return found, ""
	}
	return 0, "the runtime's random block was never refilled"
}

// verifyRuntimeRand writes a known block and key at addr (where the runtime
// is at buf[1], having just returned buf[0]) and checks that the runtime
// hands out that block and then the block math/rand/v2's ChaCha8, the same
// generator, makes from that key.
func verifyRuntimeRand(addr uintptr) bool {
	buf := (*[chachaBufWords]uint64)(at(addr))
	seed := (*[chachaSeedWords]uint64)(at(addr + chachaBufWords*8))
	var pattern [chachaBufWords]uint64
	for i := range pattern {
		pattern[i] = 0x9e3779b97f4a7c15 * uint64(i+1)
	}
	var key [32]byte
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	*buf = pattern
	for i := range seed {
		seed[i] = binary.LittleEndian.Uint64(key[i*8:])
	}
	i := 1
	got := rand.Uint64()
	for ; i < chachaBufWords && got == pattern[i]; i++ {
		got = rand.Uint64()
	}
	// The block held 32 words, or 28 when its last 4 were kept to rekey.
	if i != chachaBufWords && i != chachaBufWords-chachaSeedWords {
		return false
	}
	// got is the first word of the next block: block 1, 2 or 3 of the key
	// (its counter advances by one block), or, after the fourth, block 0 of
	// the key taken from the last 4 words.
	from := rand.NewChaCha8(key)
	for n := 0; n < 4*chachaBufWords; n++ {
		w := from.Uint64()
		if n%chachaBufWords == 0 && n > 0 && w == got {
			return true
		}
	}
	var rekey [32]byte
	for j := range chachaSeedWords {
		binary.LittleEndian.PutUint64(rekey[j*8:], pattern[chachaBufWords-chachaSeedWords+j])
	}
	return rand.NewChaCha8(rekey).Uint64() == got
}
