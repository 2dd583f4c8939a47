package yaowasm

// Benchmarks (not tests): go test -bench . -run '^$' (unset RUST_BACKTRACE).
//
//   - BenchmarkCABIExec: yaowasm_runtime_exec called from C directly, in a
//     loop inside one cgo call (what the Go wrapper adds nothing to);
//   - BenchmarkExec: Runtime.Exec, so Exec - CABI is the Go binding's
//     overhead per call (cgo, MessagePack in and out, ctx bookkeeping);
//   - BenchmarkExecCancelable: the same with a ctx that has a deadline and
//     a Done channel (the cancel flag path);
//   - BenchmarkExecParallel: Runtime.Exec from GOMAXPROCS goroutines at
//     once (a Go host serving requests), ns/op being wall time per call
//     across them; ...OneEngine is the same with EngineShards 1, the
//     runtime as it was before it ran one engine per CPU;
//   - BenchmarkWazero*: the same .wasm with the same host function
//     (yao.process answering with its args) under wazero, a fresh module
//     instance per call, as yaowasm does.

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func benchRuntime(b *testing.B) *Runtime {
	return benchRuntimeWith(b, Config{TimeoutMs: 60000})
}

func benchRuntimeWith(b *testing.B, config Config) *Runtime {
	r, err := New(config)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	if _, err := r.LoadDir(scriptsDir); err != nil {
		b.Fatal(err)
	}
	r.SetProcessHandler(func(ctx context.Context, name string, args []any) (any, error) { return args, nil })
	return r
}

var echoArgs = []any{"hello", 42, map[string]any{"k": "v"}}

func BenchmarkExec(b *testing.B) {
	r := benchRuntime(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Exec(ctx, "scripts.a.t.Echo", echoArgs...); err != nil {
			b.Fatal(err)
		}
	}
}

func benchExecParallel(b *testing.B, config Config) {
	r := benchRuntimeWith(b, config)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := r.Exec(ctx, "scripts.a.t.Echo", echoArgs...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkExecParallel(b *testing.B) { benchExecParallel(b, Config{TimeoutMs: 60000}) }

func BenchmarkExecParallelOneEngine(b *testing.B) {
	benchExecParallel(b, Config{TimeoutMs: 60000, EngineShards: 1})
}

// BenchmarkExecCancelable: Exec with a ctx that has a deadline and can be
// cancelled (a request's), so each call also arms a cancel flag.
func BenchmarkExecCancelable(b *testing.B) {
	r := benchRuntime(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for b.Loop() {
		if _, err := r.Exec(ctx, "scripts.a.t.Echo", echoArgs...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCABIExec(b *testing.B) {
	r := benchRuntime(b)
	payload, _ := marshal(echoArgs)
	b.ResetTimer()
	if err := cExecLoop(r, "scripts.a.t.Echo", payload, b.N); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkExecHostCall(b *testing.B) {
	r := benchRuntime(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Exec(ctx, "scripts.a.t.Call", "host.echo", echoArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// wazeroSetup compiles testmod.wasm under wazero with the same yao imports:
// process answers with its args (copied into the guest through yao_alloc).
func wazeroSetup(b *testing.B) (wazero.Runtime, wazero.CompiledModule) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	b.Cleanup(func() { rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder("yao").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, namePtr, nameLen, argsPtr, argsLen uint32) uint64 {
		args, _ := m.Memory().Read(argsPtr, argsLen)
		// decode and re-encode, as the host side of yaowasm does
		v, err := unmarshal(args)
		if err != nil {
			return 0
		}
		out, _ := marshal(v)
		res, err := m.ExportedFunction("yao_alloc").Call(ctx, uint64(len(out)))
		if err != nil || res[0] == 0 {
			return 0
		}
		m.Memory().Write(uint32(res[0]), out)
		return res[0]<<32 | uint64(len(out))
	}).Export("process").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, level, ptr, n uint32) {}).Export("log").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) uint64 { return 0 }).Export("query").
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	wasm, err := os.ReadFile(testWasm)
	if err != nil {
		b.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	return rt, compiled
}

// wazeroExec does what yaowasm's exec does: a fresh instance, args encoded
// and written through yao_alloc, the packed result read and decoded.
func wazeroExec(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, fn string, args []any) (any, error) {
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, err
	}
	defer mod.Close(ctx)
	in, err := marshal(args)
	if err != nil {
		return nil, err
	}
	res, err := mod.ExportedFunction("yao_alloc").Call(ctx, uint64(len(in)))
	if err != nil {
		return nil, err
	}
	ptr := uint32(res[0])
	mod.Memory().Write(ptr, in)
	res, err = mod.ExportedFunction(fn).Call(ctx, uint64(ptr), uint64(len(in)))
	if err != nil {
		return nil, err
	}
	packed := res[0]
	out, _ := mod.Memory().Read(uint32(packed>>32), uint32(packed)&0x7fffffff)
	return unmarshal(out)
}

func BenchmarkWazeroExec(b *testing.B) {
	rt, compiled := wazeroSetup(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := wazeroExec(ctx, rt, compiled, "Echo", echoArgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWazeroExecHostCall(b *testing.B) {
	rt, compiled := wazeroSetup(b)
	ctx := context.Background()
	args := []any{"host.echo", echoArgs}
	for b.Loop() {
		v, err := wazeroExec(ctx, rt, compiled, "Call", args)
		if err != nil {
			b.Fatal(err)
		}
		if l, ok := v.([]any); !ok || len(l) != 3 {
			b.Fatalf("%#v", v)
		}
	}
}
