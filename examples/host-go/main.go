// Command host-go runs wasm Yao scripts from Go through gou's process
// system: `go run . <scripts-dir>`, where the folder holds demo.wasm
// assembled from bindings/testdata/testmod.wat (see README.md).
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/yaoapp/gou/process"
	yaowasm "github.com/yaoapp/yaowasm/bindings/go"
	yaogou "github.com/yaoapp/yaowasm/bindings/go/gou"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: host-go <scripts-dir>")
	}
	if err := run(os.Args[1]); err != nil {
		log.Fatal(err)
	}
	fmt.Println("all checks passed")
}

func run(dir string) error {
	// What V8 would have registered: it keeps every script yaowasm does not load.
	process.Register("scripts", func(p *process.Process) interface{} { return "from V8: " + p.ID + "." + p.Method })
	// A Go process that calls back into wasm.
	process.Register("go.relay", func(p *process.Process) interface{} {
		return map[string]interface{}{"go": true, "wasm": process.New("scripts.demo.Echo", p.Args...).Run()}
	})

	rt, err := yaowasm.New(yaowasm.Config{TimeoutMs: 2000})
	if err != nil {
		return err
	}
	defer rt.Close()
	rt.SetLogHandler(func(level int, msg string) { slog.Info("guest says", "level", level, "msg", msg) })
	report, err := rt.LoadDir(dir)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d script(s), %d problem(s)\n", report.Loaded, len(report.Problems))
	adapter, err := yaogou.Register(yaogou.Options{Scripts: rt})
	if err != nil {
		return err
	}
	defer adapter.Unregister()

	check := func(what string, got, want any) error {
		fmt.Printf("%-45s %v\n", what, got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s: got %v, want %v", what, got, want)
		}
		return nil
	}
	var errs []error
	v, err := process.New("scripts.demo.Echo", "hi", 1).Exec()
	errs = append(errs, check("gou scripts.demo.Echo:", v, []any{"hi", 1}), err)
	v, err = process.New("scripts.other.Run").Exec()
	errs = append(errs, check("gou scripts.other.Run (no .wasm):", v, "from V8: other.Run"), err)
	v, err = process.New("scripts.demo.Call", "go.relay", []any{42}).Exec()
	errs = append(errs, check("wasm -> go.relay -> wasm:", v, map[string]any{"go": true, "wasm": []any{42}}), err)
	_, err = rt.Exec(context.Background(), "scripts.demo.Fail")
	errs = append(errs, check("guest error code:", yaowasm.Code(err), 418))
	_, err = process.New("scripts.demo.Log").Exec()
	errs = append(errs, err)
	start := time.Now()
	_, err = rt.Exec(context.Background(), "scripts.demo.Loop")
	errs = append(errs, check("infinite loop ends with code:", yaowasm.Code(err), 408))
	fmt.Printf("%-45s %v\n", "  after (timeout_ms 2000):", time.Since(start).Round(10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = rt.Exec(ctx, "scripts.demo.Loop")
	errs = append(errs, check("same loop under a 100 ms context:", yaowasm.Code(err), 408))
	fmt.Printf("%-45s %v\n", "  after:", time.Since(start).Round(10*time.Millisecond))
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
