package gou

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/yaoapp/gou/query/share"
	"github.com/yaoapp/kun/maps"
	yaowasm "github.com/yaoapp/yaowasm/bindings/go"
)

// QueryProcess is the process a guest's yao.query call reaches the host as
// (docs/ABI.md §8). gou registers no process of that name: QueryDSL is an
// object of Yao's V8 runtime, so the adapter serves it from the engines
// Options.QueryEngine names.
const QueryProcess = "query.Run"

// QueryEngine finds a query engine by name: in Yao, gou's query.Select
// (the registry of github.com/yaoapp/gou/query, which the adapter does not
// import because its SQL engine pulls in a database layer).
type QueryEngine func(name string) (share.DSL, error)

// RunQuery serves yao.query's args, [dsl, bindings?, engine?, method?], the
// way Yao's JS `new Query(engine).<Method>(dsl)` does: the DSL (a map, or
// its JSON text) is loaded by the engine (default "default") and run with
// the bindings (default: the DSL itself, as Yao's Query object does). The
// method is Run (the DSL decides: page → Paginate, first → First, else
// Get), Get, First or Paginate. Errors carry Yao codes: 400 for a bad DSL
// or args, 404 for an engine not found, a thrown gou exception's own code.
func RunQuery(engines QueryEngine, args []any) (result any, err error) {
	dsl, bindings, engineName, method, err := queryArgs(args)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, FromPanic(r)
		}
	}()
	engine, err := engines(strings.ToLower(engineName))
	if err != nil || engine == nil {
		return nil, yaowasm.Errorf(404, "query: engine %q is not loaded", engineName)
	}
	loaded, err := engine.Load(dsl)
	if err != nil {
		return nil, yaowasm.Errorf(400, "query: %s", err)
	}
	if bindings == nil {
		bindings = dsl
	}
	switch method {
	case "Get":
		return records(loaded.Get(bindings)), nil
	case "First":
		return record(loaded.First(bindings)), nil
	case "Paginate":
		return page(loaded.Paginate(bindings)), nil
	default:
		return plain(loaded.Run(bindings)), nil
	}
}

// queryArgs reads [dsl, bindings?, engine?, method?]. The runtime has
// checked their types already; a host calling RunQuery itself gets the same
// checks here.
func queryArgs(args []any) (dsl, bindings maps.MapStrAny, engine, method string, err error) {
	bad := func(format string, a ...any) error { return yaowasm.Errorf(400, "query: "+format, a...) }
	if len(args) > 4 {
		return nil, nil, "", "", bad("takes at most 4 args, got %d", len(args))
	}
	args = append(slices.Clip(args), make([]any, 4-len(args))...) // absent args are nil; the caller's array is not written
	switch d := args[0].(type) {
	case map[string]any:
		dsl = maps.Of(d)
	case string:
		var m map[string]any
		if e := json.Unmarshal([]byte(d), &m); e != nil || m == nil {
			return nil, nil, "", "", bad("arg 1 is not the JSON text of a QueryDSL map")
		}
		dsl = maps.Of(m)
	default:
		return nil, nil, "", "", bad("arg 1 must be the QueryDSL (a map, or its JSON text)")
	}
	switch b := args[1].(type) {
	case nil:
	case map[string]any:
		bindings = maps.Of(b)
	default:
		return nil, nil, "", "", bad("arg 2 must be the bindings (a map) or nil")
	}
	engine, method = "default", "Run"
	if e, ok := args[2].(string); ok && e != "" {
		engine = e
	} else if args[2] != nil {
		return nil, nil, "", "", bad("arg 3 must be the engine name (a non-empty string) or nil")
	}
	if m, ok := args[3].(string); ok && slices.Contains(queryMethods, m) {
		method = m
	} else if args[3] != nil {
		return nil, nil, "", "", bad("arg 4 must be the method (Run, Get, First, Paginate) or nil")
	}
	return dsl, bindings, engine, method, nil
}

// queryMethods are the methods args[3] may name (gou's share.DSL).
var queryMethods = []string{"Run", "Get", "First", "Paginate"}

// The codec takes plain maps and slices; gou answers named types.

func record(r share.Record) any {
	if r == nil {
		return nil
	}
	return map[string]any(r)
}

func records(rs []share.Record) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = record(r)
	}
	return out
}

func page(p share.Paginate) map[string]any {
	return map[string]any{
		"items": records(p.Items), "total": p.Total, "next": p.Next, "prev": p.Prev,
		"page": p.Page, "pagesize": p.PageSize, "pagecnt": p.PageCount,
	}
}

// plain converts what Run answers (rows, a row, a page, or the engine's
// own value for a statement) into codec values.
func plain(v any) any {
	switch x := v.(type) {
	case []share.Record:
		return records(x)
	case share.Record:
		return record(x)
	case share.Paginate:
		return page(x)
	case maps.MapStrAny:
		return map[string]any(x)
	case nil, bool, string, int, int64, float64, []any, map[string]any:
		return x
	case interface {
		RowsAffected() (int64, error)
		LastInsertId() (int64, error)
	}:
		// A statement's sql.Result.
		affected, _ := x.RowsAffected()
		id, _ := x.LastInsertId()
		return map[string]any{"rows_affected": affected, "last_insert_id": id}
	default:
		return fmt.Sprint(x)
	}
}
