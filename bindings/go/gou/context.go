package gou

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/yaoapp/gou/process"
	yaowasm "github.com/yaoapp/yaowasm/bindings/go"
)

// Who a call runs for, between gou's Process and yaowasm's CallContext.
//
// Sid and Global are fields of every gou release. Authorized (a pointer to
// gou's AuthorizedInfo) and Context (a context.Context) exist only on
// current gou (main), not on v0.10.3, the release the Go module proxy
// serves: they are read and written by reflection on the field names, so
// one adapter builds against both. Authorized crosses as a map (its JSON
// form), as V8 scripts see it.

// withCallContext adds p's session, globals and authorization to ctx as the
// yaowasm call context; a Process without any adds nothing (no cost).
func withCallContext(ctx context.Context, p *process.Process) context.Context {
	authorized := authorizedOf(p)
	if p.Sid == "" && len(p.Global) == 0 && authorized == nil {
		return ctx
	}
	return yaowasm.WithCallContext(ctx, yaowasm.CallContext{Sid: p.Sid, Global: p.Global, Authorized: authorized})
}

// applyCallContext gives p the session, globals and authorization of the
// call context ctx carries, and ctx itself where p has a Context field: what
// WithSID, WithGlobal, WithAuthorized and WithContext do.
func applyCallContext(ctx context.Context, p *process.Process) {
	if cc, ok := yaowasm.CallContextFrom(ctx); ok {
		p.Sid = cc.Sid
		if cc.Global != nil {
			p.Global = cc.Global
		}
		if cc.Authorized != nil {
			setAuthorized(p, cc.Authorized)
		}
	}
	if f := field(p, "Context"); f.IsValid() && f.CanSet() && reflect.TypeOf(&ctx).Elem().AssignableTo(f.Type()) {
		f.Set(reflect.ValueOf(&ctx).Elem())
	}
}

// processContext is p's Context field where gou has one and it is set,
// else context.Background().
func processContext(p *process.Process) context.Context {
	if f := field(p, "Context"); f.IsValid() && f.Kind() == reflect.Interface && !f.IsNil() {
		if ctx, ok := f.Interface().(context.Context); ok {
			return ctx
		}
	}
	return context.Background()
}

// authorizedOf is p's Authorized field as a map, or nil (no such field, or
// unset).
func authorizedOf(p *process.Process) map[string]any {
	f := field(p, "Authorized")
	if !f.IsValid() || ((f.Kind() == reflect.Pointer || f.Kind() == reflect.Map || f.Kind() == reflect.Interface) && f.IsNil()) {
		return nil
	}
	data, err := json.Marshal(f.Interface())
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil || len(m) == 0 {
		return nil
	}
	return m
}

// setAuthorized sets p's Authorized field, where gou has one, from a map
// (through its JSON form).
func setAuthorized(p *process.Process, authorized map[string]any) {
	f := field(p, "Authorized")
	if !f.IsValid() || !f.CanSet() {
		return
	}
	data, err := json.Marshal(authorized)
	if err != nil {
		return
	}
	v := reflect.New(f.Type())
	if json.Unmarshal(data, v.Interface()) == nil {
		f.Set(v.Elem())
	}
}

func field(p *process.Process, name string) reflect.Value {
	return reflect.ValueOf(p).Elem().FieldByName(name)
}
