// Package gou plugs yaowasm into gou's process system
// (github.com/yaoapp/gou/process): `scripts.<id>.<Fn>` (and, with a studio
// runtime, `studio.<id>.<Fn>`) calls whose script ID yaowasm has loaded run
// in yaowasm; every other call goes to the handler registered before (V8),
// so a .wasm shadows the .ts of the same ID (SPEC §1). Guests' yao.process
// calls that yaowasm does not serve itself run as gou processes, and their
// yao.query calls run on the host's query engines (query.go).
//
// Who a call runs for crosses too: a script called by gou runs with the
// calling Process's Sid and Global (and Authorized and Context on a gou that
// has them, read by reflection: context.go), and its guest's nested
// yao.process calls run as gou processes with those same values, as V8's
// Process() does.
//
// Codes cross both ways: a yaowasm error is thrown as
// exception.New(msg, code); a gou exception thrown by a Go process reaches
// the guest with its code.
package gou

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yaoapp/gou/lang"
	"github.com/yaoapp/gou/process"
	"github.com/yaoapp/kun/exception"
	yaowasm "github.com/yaoapp/yaowasm/bindings/go"
)

// Options says which runtime serves which group.
type Options struct {
	// Scripts serves scripts.<id>.<Fn> for the IDs it has loaded. Required.
	Scripts *yaowasm.Runtime
	// Studio, if set, serves studio.<id>.<Fn> for the IDs it has loaded
	// (run there as scripts.<id>.<Fn>: yaowasm names every script so).
	Studio *yaowasm.Runtime
	// Context gives the context of a call coming from gou. Default: the
	// Process's Context field on a gou that has one, else
	// context.Background(). The Process's session, globals and
	// authorization are added to it either way.
	Context func(p *process.Process) context.Context
	// QueryEngine, if set, serves guests' yao.query calls (the process
	// query.Run, which gou does not register): in Yao, query.Select. Unset,
	// query.Run goes to gou's process table like any other call.
	QueryEngine QueryEngine
}

// Adapter is the registration made by Register.
type Adapter struct {
	opts Options
	prev map[string]process.Handler
}

// Register installs the adapter into gou's process table and sets each
// runtime's process handler to gou. gou's table is a plain map: call it at
// start-up, after V8's handlers are registered and before processes run.
func Register(opts Options) (*Adapter, error) {
	if opts.Scripts == nil {
		return nil, errors.New("yaowasm/gou: Options.Scripts is required")
	}
	if opts.Context == nil {
		opts.Context = processContext
	}
	a := &Adapter{opts: opts, prev: map[string]process.Handler{}}
	for group, rt := range map[string]*yaowasm.Runtime{"scripts": opts.Scripts, "studio": opts.Studio} {
		if rt == nil {
			continue
		}
		prev, had := process.Handlers[group]
		if had {
			a.prev[group] = prev
		}
		process.Register(group, a.handler(rt, prev))
		rt.SetProcessHandler(a.execProcess)
	}
	return a, nil
}

// Unregister puts back the handlers that were registered before.
func (a *Adapter) Unregister() {
	for _, group := range []string{"scripts", "studio"} {
		if prev, ok := a.prev[group]; ok {
			process.Handlers[group] = prev
		} else if group == "scripts" || a.opts.Studio != nil {
			delete(process.Handlers, group)
		}
	}
	a.opts.Scripts.SetProcessHandler(nil)
	if a.opts.Studio != nil {
		a.opts.Studio.SetProcessHandler(nil)
	}
}

func (a *Adapter) handler(rt *yaowasm.Runtime, prev process.Handler) process.Handler {
	return func(p *process.Process) interface{} {
		// gou has lower-cased p.ID and kept p.Method's case.
		if rt.HasScript(p.ID) {
			value, err := rt.Exec(withCallContext(a.opts.Context(p), p), "scripts."+p.ID+"."+p.Method, p.Args...)
			if err != nil {
				Throw(err)
			}
			return value
		}
		if prev != nil {
			return prev(p)
		}
		exception.New("%s not found", 404, p.Name).Throw()
		return nil
	}
}

// execProcess is each runtime's process handler: ExecProcess, with
// query.Run served by RunQuery when Options.QueryEngine is set and gou has
// no process of that name, and lang.Replace (a script's $L) by gou's
// default language dictionary.
func (a *Adapter) execProcess(ctx context.Context, name string, args []any) (any, error) {
	if strings.EqualFold(name, LangProcess) {
		if _, gouServes := process.Handlers["lang.replace"]; !gouServes {
			return replaceLang(args)
		}
	}
	if a.opts.QueryEngine != nil && strings.EqualFold(name, QueryProcess) {
		if _, gouServes := process.Handlers["query.run"]; !gouServes {
			return RunQuery(a.opts.QueryEngine, args)
		}
	}
	return ExecProcess(ctx, name, args)
}

// Throw raises err as a gou exception with its Yao code.
func Throw(err error) {
	var e *yaowasm.Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Message
	}
	exception.New("%s", yaowasm.Code(err), msg).Throw()
}

// ExecProcess runs a guest's yao.process call as a gou process: like
// process.New(name, args...).WithSID(sid).WithGlobal(global).Exec() with
// the session and globals of the call context ctx carries (and its
// authorization and ctx itself on a gou that has those fields), but keeping
// the code of a thrown exception (Exec turns it into a plain error without
// one).
func ExecProcess(ctx context.Context, name string, args []any) (value any, err error) {
	p, err := process.Of(name, args...)
	if err != nil {
		return nil, fromGouError(err.Error())
	}
	applyCallContext(ctx, p)
	handler, ok := process.Handlers[p.Handler]
	if !ok {
		return nil, yaowasm.Errorf(404, "%s (%s) not found", name, p.Handler)
	}
	defer func() {
		if r := recover(); r != nil {
			value, err = nil, FromPanic(r)
		}
	}()
	return handler(p), nil
}

// FromPanic turns what a gou handler panicked with into an error with a
// Yao code: exception.Exception keeps its code, a yaowasm error its own,
// "Exception|404:..." strings their number, anything else is 500.
func FromPanic(r any) error {
	switch x := r.(type) {
	case exception.Exception:
		return &yaowasm.Error{Code: x.Code, Message: x.Message}
	case *exception.Exception:
		return &yaowasm.Error{Code: x.Code, Message: x.Message}
	case error:
		if yaowasm.Code(x) != 500 {
			return x
		}
		return fromGouError(x.Error())
	case string:
		return fromGouError(x)
	default:
		return &yaowasm.Error{Code: 500, Message: fmt.Sprint(r)}
	}
}

var gouCode = regexp.MustCompile(`^Exception\|(\d{3}):(.*)$`)

// fromGouError reads gou's "Exception|<code>:<message>" error texts.
func fromGouError(text string) error {
	if m := gouCode.FindStringSubmatch(text); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &yaowasm.Error{Code: code, Message: m[2]}
	}
	return &yaowasm.Error{Code: 500, Message: text}
}

// LangProcess is what a TS/JS script's $L(text) calls (js/README.md): gou
// registers no such process, because its V8 runtime's $L calls gou's
// lang.Replace directly; the adapter does the same.
const LangProcess = "lang.Replace"

// replaceLang answers [text] as V8's $L does after stripping "::": the
// word in gou's default dictionary (lang.Default, which Yao loads from the
// app's langs/<YAO_LANG>/), else the text itself; not a string, as it is.
func replaceLang(args []any) (any, error) {
	if len(args) == 0 {
		return nil, yaowasm.Errorf(400, "%s expects [text]", LangProcess)
	}
	text, ok := args[0].(string)
	if !ok {
		return args[0], nil
	}
	lang.Replace(&text)
	return text, nil
}
