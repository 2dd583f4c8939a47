//go:build !yaowasm_release && !yaowasm_pkgconfig

package yaowasm

// Default: link the repository's debug build, target/debug/libyaowasm.so
// (made by `cargo build --lib` in the repo root), with an rpath so no
// LD_LIBRARY_PATH is needed. See README.md for the other two ways.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/debug -Wl,-rpath,${SRCDIR}/../../target/debug -lyaowasm
*/
import "C"
