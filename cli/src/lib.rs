//! The parts of the `yaowasm` CLI that its tests and benchmarks share: the
//! esbuild driver of `yaowasm build`.

pub mod esbuild;
