//go:build yaowasm_pkgconfig

package yaowasm

// -tags yaowasm_pkgconfig: an installed libyaowasm described by yaowasm.pc
// (see yaowasm.pc.in; point PKG_CONFIG_PATH at it).

/*
#cgo pkg-config: yaowasm
*/
import "C"
