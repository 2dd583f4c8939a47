//go:build yaowasm_release && !yaowasm_pkgconfig

package yaowasm

// -tags yaowasm_release: link target/release/libyaowasm.so
// (`cargo build --lib --release`).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lyaowasm
*/
import "C"
