// Package yao is the Go guest SDK of yaowasm: it turns ordinary Go functions
// into Yao script functions and lets them call Yao processes, write to Yao's
// log, and use the host API: named stores ([Store]), files under the
// configured roots ([FS]), HTTP to allowed hosts ([HTTP]) and QueryDSL
// ([Query]).
//
// A script is a Go main package built for GOOS=wasip1 as a reactor
// (-buildmode=c-shared). Each exported script function is one line that
// hands the raw arguments to [Handle] (or [HandleTyped]):
//
//	//go:wasmexport Check
//	func check(p, n uint32) uint64 { return yao.Handle(p, n, Check) }
//
//	func Check(args []any) (any, error) {
//		if len(args) == 0 {
//			return nil, yao.NewError(400, "payload is required")
//		}
//		return map[string]any{"valid": true}, nil
//	}
//
// Values cross the boundary as Yao values (SPEC §2). Decoded into `any` they
// are nil, bool, int64 (uint64 only above math.MaxInt64), float64, string,
// []byte, []any and map[string]any. Go values you return are encoded as
// MessagePack; structs use their `msgpack` tag or, failing that, their `json`
// tag.
//
// An error returned by a script function reaches the caller with its code
// when it is (or wraps) a [*Error]; any other error is a 500, and a panic is
// recovered and reported as a 500 too.
//
// The package also builds for the host's GOOS so that code using it can be
// unit-tested with a plain `go test`: there, [Process], [Log] and the host
// API talk to a stand-in set with [SetTestHost].
package yao
