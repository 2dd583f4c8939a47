package yaowasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.TimeoutMs == 0 {
		cfg.TimeoutMs = 5000
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	rep, err := r.LoadDir(scriptsDir)
	if err != nil || rep.Loaded != 2 || len(rep.Problems) != 0 {
		t.Fatalf("LoadDir: %+v %v", rep, err)
	}
	return r
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("want code %d, got %v", code, err)
	}
}

func TestValues(t *testing.T) {
	r := newRuntime(t, Config{})
	type user struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	got, err := r.Exec(context.Background(), "scripts.a.t.Echo",
		nil, true, 0, -1, int64(1)<<62, uint64(1)<<63, 1.5, "héllo", []byte{0, 255},
		[]any{1, []any{}}, map[string]any{"k": map[string]any{"n": nil}}, user{"ann", 7})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, true, 0, -1, 1 << 62, uint64(1) << 63, 1.5, "héllo", []byte{0, 255},
		[]any{1, []any{}}, map[string]any{"k": map[string]any{"n": nil}}, map[string]any{"name": "ann", "age": 7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if got, err := r.Exec(context.Background(), "scripts.a.t.Nil"); got != nil || err != nil {
		t.Fatal(got, err)
	}
	if got, err := r.Exec(context.Background(), "SCRIPTS.A.T.Echo"); err != nil || !reflect.DeepEqual(got, []any{}) {
		t.Fatal(got, err)
	}
	_, err = r.Exec(context.Background(), "scripts.a.t.Echo", make(chan int))
	wantCode(t, err, 400)

	// Args and results larger than Exec's pooled buffer (4 KiB), on both
	// sides of a host call.
	r.SetProcessHandler(func(ctx context.Context, name string, args []any) (any, error) { return args, nil })
	for _, n := range []int{4000, 5000, 70000, 200000} {
		big := strings.Repeat("z", n)
		got, err := r.Exec(context.Background(), "scripts.a.t.Echo", big, n)
		if err != nil || !reflect.DeepEqual(got, []any{big, n}) {
			t.Fatalf("echo of %d bytes: %.80v %v", n, got, err)
		}
		got, err = r.Exec(context.Background(), "scripts.a.t.Call", "host.echo", []any{big})
		if err != nil || !reflect.DeepEqual(got, []any{big}) {
			t.Fatalf("host echo of %d bytes: %.80v %v", n, got, err)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	r := newRuntime(t, Config{TimeoutMs: 200, MaxMemoryMB: 16})
	for name, code := range map[string]int{
		"scripts.a.t.Fail": 418, "scripts.a.t.Trap": 500, "scripts.a.t.Grow": 413, "scripts.a.t.Loop": 408,
		"scripts.a.t.Nope": 404, "scripts.zz.Echo": 404, "studio.a.t.Echo": 404, "scripts.a.t.echo": 404,
		"nonsense": 400, "": 400, "scripts.a.t.Echo\x00": 400,
	} {
		_, err := r.Exec(context.Background(), name)
		wantCode(t, err, code)
		if Code(err) != code {
			t.Fatalf("Code(%v) = %d", err, Code(err))
		}
	}
	_, err := r.Exec(context.Background(), "scripts.a.t.Fail")
	if err.Error() != "418: teapot" {
		t.Fatalf("%q", err)
	}
}

func TestCode(t *testing.T) {
	for err, code := range map[error]int{
		nil: 0, errors.New("x"): 500, Errorf(451, "x"): 451, Errorf(42, "x"): 500,
		fmt.Errorf("wrapped: %w", Errorf(409, "x")): 409, context.DeadlineExceeded: 408, context.Canceled: 408,
	} {
		if got := Code(err); got != code {
			t.Errorf("Code(%v) = %d, want %d", err, got, code)
		}
	}
}

func TestBadConfig(t *testing.T) {
	_, err := New(Config{MaxMemoryMB: -1})
	wantCode(t, err, 400)
}

// Every Config field reaches the library under its documented key: a good
// value of each is accepted (the library refuses unknown keys), a bad one is
// refused by that key's own check.
func TestConfigFieldsReachTheLibrary(t *testing.T) {
	dir := t.TempDir()
	good := Config{
		MaxMemoryMB: 32, TimeoutMs: 500, CacheDir: t.TempDir(), CacheMaxMB: 64, MaxDepth: 8,
		WASI:                 &WASIConfig{Preopen: map[string]string{"/data": dir}, ReadOnly: []string{"/data"}},
		HTTPAllow:            []string{"127.0.0.1:8080", "*.example.com"},
		HTTPMaxResponseBytes: 1 << 20, HTTPMaxUploadBytes: 1 << 20, HTTPTimeoutMs: 2000,
		Stores: map[string]StoreConfig{
			"cache":  {Backend: "memory", MaxEntries: 10},
			"gou":    {Backend: "process"},
			"shared": {Backend: "redis", URL: "redis://127.0.0.1:6379/0", Prefix: "yao:test:"},
		},
		FS:         map[string]string{"data": dir, "system": dir},
		FSReadOnly: []string{"system"},
	}
	rt, err := New(good)
	if err != nil {
		t.Fatalf("a good config: %v", err)
	}
	rt.Close()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{CacheMaxMB: 2 << 20}, "cache_max_mb must be"},
		{Config{HTTPMaxResponseBytes: 2 << 30}, "http_max_response_bytes must be"},
		{Config{HTTPTimeoutMs: 100_000_000}, "http_timeout_ms must be"},
		{Config{HTTPMaxUploadBytes: 32 << 30}, "http_max_upload_bytes must be"},
		{Config{HTTPCAFile: filepath.Join(dir, "none.pem")}, "http_ca_file"},
		{Config{HTTPAllow: []string{"no port"}}, "http_allow"},
		{Config{Stores: map[string]StoreConfig{"s": {Backend: "etcd"}}}, "etcd"},
		{Config{Stores: map[string]StoreConfig{"s": {Backend: "redis"}}}, "url"},
		{Config{FS: map[string]string{"data": filepath.Join(dir, "missing")}}, "fs"},
		{Config{CacheDir: filepath.Join(dir, "cache"), FS: map[string]string{"data": dir}}, "cache_dir"},
		{Config{FSReadOnly: []string{"system"}}, "fs_read_only names"},
		{Config{WASI: &WASIConfig{ReadOnly: []string{"/data"}}}, "wasi.read_only names"},
	} {
		_, err := New(c.cfg)
		wantCode(t, err, 400)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want it to name %q", c.cfg, err, c.want)
		}
	}
}

func TestLoadListUnload(t *testing.T) {
	dir := t.TempDir()
	copyFile(testWasm, filepath.Join(dir, "good.wasm"))
	os.WriteFile(filepath.Join(dir, "good.ts"), []byte("//"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.wasm"), []byte("not wasm"), 0o644)
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := r.LoadDir(dir)
	if err != nil || rep.Loaded != 1 || len(rep.Problems) != 1 || !strings.HasSuffix(rep.Problems[0].File, "broken.wasm") || rep.Problems[0].Code != 400 {
		t.Fatalf("%+v %v", rep, err)
	}
	scripts, err := r.List()
	if err != nil || len(scripts) != 1 || scripts[0].ID != "good" || len(scripts[0].Shadows) != 1 || !r.HasScript("good") {
		t.Fatalf("%+v %v", scripts, err)
	}
	if err := r.LoadFile(testWasm, "x.y"); err != nil || !r.HasScript("x.y") {
		t.Fatal(err)
	}
	if err := r.Unload("x.y"); err != nil || r.HasScript("x.y") {
		t.Fatal(err)
	}
	wantCode(t, r.Unload("x.y"), 404)
	_, err = r.LoadDir(filepath.Join(dir, "missing"))
	wantCode(t, err, 404)
}

func TestStats(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := r.Exec(ctx, "scripts.b.Echo", i); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Exec(ctx, "scripts.a.t.Fail")
	wantCode(t, err, 418)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = r.Exec(short, "scripts.a.t.Loop")
	wantCode(t, err, 408)

	stats, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Scripts) != 2 {
		t.Fatalf("%+v", stats)
	}
	at, b := stats.Scripts[0], stats.Scripts[1]
	if at.ID != "a.t" || b.ID != "b" {
		t.Fatalf("not sorted by id: %+v", stats.Scripts)
	}
	if at.Calls != 2 || at.Errors != 2 || at.Timeouts != 1 || at.BusyUs < 40000 {
		t.Fatalf("a.t (a 418 and a 408): %+v", at)
	}
	if b.Calls != 3 || b.Errors != 0 || b.Timeouts != 0 {
		t.Fatalf("b (3 good calls): %+v", b)
	}
	if stats.InstanceSlots == 0 || stats.InstancesInUse != 0 {
		t.Fatalf("pool, with no call in flight: %+v", stats)
	}
	if stats.MemoryReset != "pagemap" && stats.MemoryReset != "fallback" {
		t.Fatalf("memory_reset: %+v", stats)
	}

	r.Close()
	_, err = r.Stats()
	wantCode(t, err, 400)
}

type ctxKey struct{}

func TestProcessHandler(t *testing.T) {
	r := newRuntime(t, Config{})
	r.SetProcessHandler(func(ctx context.Context, name string, args []any) (any, error) {
		switch name {
		case "host.fail":
			return nil, Errorf(451, "unavailable")
		case "host.plain":
			return nil, errors.New("plain error")
		case "host.panic":
			panic("boom")
		case "host.relay": // wasm -> Go -> wasm
			inner, err := r.Exec(ctx, "scripts.b.Echo", args...)
			return map[string]any{"inner": inner, "ctx": ctx.Value(ctxKey{})}, err
		}
		return map[string]any{"name": name, "args": args}, nil
	})
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	got, err := r.Exec(ctx, "scripts.a.t.Call", "host.echo", []any{1, "x"})
	if want := map[string]any{"name": "host.echo", "args": []any{1, "x"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatal(got, err)
	}
	got, err = r.Exec(ctx, "scripts.a.t.Call", "host.relay", []any{7})
	if want := map[string]any{"inner": []any{7}, "ctx": "v"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatal(got, err)
	}
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.fail", []any{})
	wantCode(t, err, 451)
	if err.(*Error).Message != "unavailable" {
		t.Fatal(err)
	}
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.plain", []any{})
	wantCode(t, err, 500)
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.panic", []any{})
	wantCode(t, err, 500)
	if !strings.Contains(err.Error(), "boom") {
		t.Fatal(err)
	}
	r.SetProcessHandler(nil)
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.echo", []any{})
	wantCode(t, err, 404)
}

func TestContextCancel(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Exec(ctx, "scripts.a.t.Echo")
	wantCode(t, err, 408)

	// A deadline or a cancel stops a guest that never calls the host.
	start := time.Now()
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	_, err = r.Exec(dctx, "scripts.a.t.Loop")
	wantCode(t, err, 408)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("deadline ended the loop after %v (runtime timeout is 5s)", d)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, ccancel)
	start = time.Now()
	_, err = r.Exec(cctx, "scripts.a.t.Loop")
	wantCode(t, err, 408)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel ended the loop after %v", d)
	}
	// The cancel flags of cancelled calls are not reused (untriggered ones
	// are): calls with live ctxs keep running.
	for i := 0; i < 20; i++ {
		lctx, lcancel := context.WithTimeout(context.Background(), time.Hour)
		got, err := r.Exec(lctx, "scripts.a.t.Echo", i)
		lcancel()
		if err != nil || !reflect.DeepEqual(got, []any{i}) {
			t.Fatal(i, got, err)
		}
		cctx, ccancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Millisecond, ccancel)
		_, err = r.Exec(cctx, "scripts.a.t.Loop")
		wantCode(t, err, 408)
	}
	// A deadline further than timeout_ms does not extend it.
	short := newRuntime(t, Config{TimeoutMs: 100})
	lctx, lcancel := context.WithTimeout(context.Background(), time.Hour)
	defer lcancel()
	start = time.Now()
	_, err = short.Exec(lctx, "scripts.a.t.Loop")
	wantCode(t, err, 408)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout_ms ended the loop after %v", d)
	}

	// A cancel during the call reaches the guest's next host call.
	var innerCalled atomic.Bool
	ctx, cancel = context.WithCancel(context.Background())
	r.SetProcessHandler(func(hctx context.Context, name string, args []any) (any, error) {
		switch name {
		case "host.outer":
			cancel()
			// A nested Exec with a fresh ctx still belongs to the cancelled chain.
			return r.Exec(context.Background(), "scripts.b.Call", "host.inner", []any{})
		case "host.inner":
			innerCalled.Store(true)
		}
		return "ran", nil
	})
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.outer", []any{})
	wantCode(t, err, 408)
	if innerCalled.Load() {
		t.Fatal("the handler ran after the chain's ctx was cancelled")
	}

	// A deadline that passes while the handler works.
	r.SetProcessHandler(func(hctx context.Context, name string, args []any) (any, error) {
		if name == "host.sleep" {
			<-hctx.Done()
			return r.Exec(context.Background(), "scripts.b.Call", "host.after", []any{})
		}
		return "ran", nil
	})
	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	_, err = r.Exec(ctx, "scripts.a.t.Call", "host.sleep", []any{})
	wantCode(t, err, 408)
}

func TestLogHandler(t *testing.T) {
	r := newRuntime(t, Config{})
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	if _, err := r.Exec(context.Background(), "scripts.a.t.Log"); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, "level=INFO") || !strings.Contains(s, `msg="hello from wat"`) || !strings.Contains(s, "source=yaowasm") {
		t.Fatalf("slog got %q", s)
	}
	var mu sync.Mutex
	var records []string
	r.SetLogHandler(func(level int, msg string) {
		mu.Lock()
		records = append(records, fmt.Sprint(level, msg))
		mu.Unlock()
	})
	r.Exec(context.Background(), "scripts.a.t.Log")
	if !reflect.DeepEqual(records, []string{"2hello from wat"}) {
		t.Fatal(records)
	}
	r.SetLogHandler(func(int, string) { panic("log hook") })
	if _, err := r.Exec(context.Background(), "scripts.a.t.Log"); err != nil {
		t.Fatal("a panicking log hook must not fail the call:", err)
	}
}

func TestConcurrentExec(t *testing.T) {
	r := newRuntime(t, Config{})
	var handled atomic.Int64
	r.SetProcessHandler(func(ctx context.Context, name string, args []any) (any, error) {
		handled.Add(1)
		return args[0].(int) * 2, nil
	})
	const goroutines, calls = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				got, err := r.Exec(context.Background(), "scripts.a.t.Echo", g, i)
				if err != nil || !reflect.DeepEqual(got, []any{g, i}) {
					errs <- fmt.Errorf("echo %d %d: %v %v", g, i, got, err)
					return
				}
				if i%10 == 0 {
					got, err := r.Exec(context.Background(), "scripts.a.t.Call", "host.double", []any{g*1000 + i})
					if err != nil || got != 2*(g*1000+i) {
						errs <- fmt.Errorf("double: %v %v", got, err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if handled.Load() != goroutines*calls/10 {
		t.Fatal(handled.Load())
	}
}

func TestCloseWaitsForCalls(t *testing.T) {
	r, err := New(Config{TimeoutMs: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadDir(scriptsDir); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	r.SetProcessHandler(func(context.Context, string, []any) (any, error) {
		close(entered)
		<-release
		return "done", nil
	})
	result := make(chan any, 1)
	go func() {
		v, _ := r.Exec(context.Background(), "scripts.a.t.Call", "host.wait", []any{})
		result <- v
	}()
	<-entered
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if v := <-result; v != "done" {
		t.Fatal(v)
	}
	<-closed
	_, err = r.Exec(context.Background(), "scripts.a.t.Echo")
	wantCode(t, err, 400)
	r.Close()
}
