package gou

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/yaoapp/gou/process"
	"github.com/yaoapp/gou/query/share"
	"github.com/yaoapp/kun/exception"
	"github.com/yaoapp/kun/maps"
)

// fakeQuery is a query engine in the shape of gou's: Load checks the DSL,
// each method answers what it was given, so a test sees what reached it.
type fakeQuery struct {
	engine string
	dsl    maps.MapStrAny
}

func (q fakeQuery) Load(dsl interface{}) (share.DSL, error) {
	m, ok := dsl.(maps.MapStrAny)
	if !ok {
		return nil, errors.New("the DSL is not a map")
	}
	if _, bad := m["invalid"]; bad {
		return nil, errors.New("invalid DSL")
	}
	return fakeQuery{engine: q.engine, dsl: m}, nil
}

func (q fakeQuery) answer(method string, data maps.Map) share.Record {
	if q.dsl["from"] == "locked" {
		exception.New("table %s is locked", 423, "locked").Throw()
	}
	return share.Record{"engine": q.engine, "method": method, "from": q.dsl["from"], "data": map[string]interface{}(data)}
}

func (q fakeQuery) Get(data maps.Map) []share.Record { return []share.Record{q.answer("Get", data)} }
func (q fakeQuery) First(data maps.Map) share.Record { return q.answer("First", data) }
func (q fakeQuery) Paginate(data maps.Map) share.Paginate {
	return share.Paginate{Items: []share.Record{q.answer("Paginate", data)}, Total: 1, Next: -1, Prev: -1, Page: 1, PageSize: 20, PageCount: 1}
}

// Run decides as gou's does: page → Paginate, first → First, else Get.
func (q fakeQuery) Run(data maps.Map) interface{} {
	if _, ok := q.dsl["page"]; ok {
		return q.Paginate(data)
	}
	if _, ok := q.dsl["first"]; ok {
		return q.First(data)
	}
	return q.Get(data)
}

func fakeEngines(name string) (share.DSL, error) {
	if name == "default" || name == "stats" {
		return fakeQuery{engine: name}, nil
	}
	return nil, errors.New(name + " not found")
}

func asJSON(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGuestQueriesRunOnTheHostsEngines(t *testing.T) {
	setupWith(t, Options{QueryEngine: fakeEngines})
	dsl := map[string]interface{}{"select": []interface{}{"id"}, "from": "user"}
	for _, c := range []struct {
		name string
		args []interface{}
		want string
	}{
		// Without bindings the DSL is the data, as in Yao's Query object.
		{"get", []interface{}{dsl, nil, nil, "Get"},
			`[{"data":{"from":"user","select":["id"]},"engine":"default","from":"user","method":"Get"}]`},
		{"first with bindings", []interface{}{dsl, map[string]interface{}{"id": 7}, nil, "First"},
			`{"data":{"id":7},"engine":"default","from":"user","method":"First"}`},
		{"paginate on a named engine", []interface{}{dsl, nil, "Stats", "Paginate"},
			`{"items":[{"data":{"from":"user","select":["id"]},"engine":"stats","from":"user","method":"Paginate"}],"next":-1,"page":1,"pagecnt":1,"pagesize":20,"prev":-1,"total":1}`},
		{"run: the DSL asks for the first row", []interface{}{map[string]interface{}{"from": "user", "first": true}, map[string]interface{}{}},
			`{"data":{},"engine":"default","from":"user","method":"First"}`},
		{"run: rows", []interface{}{dsl},
			`[{"data":{"from":"user","select":["id"]},"engine":"default","from":"user","method":"Get"}]`},
		{"the DSL as JSON text", []interface{}{`{"from": "pet"}`, map[string]interface{}{"k": "v"}},
			`[{"data":{"k":"v"},"engine":"default","from":"pet","method":"Get"}]`},
	} {
		got, err := process.New("scripts.a.t.Query", c.args...).Exec()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if asJSON(t, got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, asJSON(t, got), c.want)
		}
	}
	for _, c := range []struct {
		name string
		args []interface{}
		code int
		msg  string
	}{
		{"engine not loaded", []interface{}{dsl, nil, "nosuch"}, 404, `query: engine "nosuch" is not loaded`},
		{"the engine refuses the DSL", []interface{}{map[string]interface{}{"invalid": 1}}, 400, "query: invalid DSL"},
		{"the engine throws", []interface{}{map[string]interface{}{"from": "locked"}}, 423, "table locked is locked"},
		{"bad JSON text", []interface{}{"{nope"}, 400, "query: arg 1 is not the JSON text of a QueryDSL map"},
		// Checked by the runtime before the host sees it.
		{"bad method", []interface{}{dsl, nil, nil, "Delete"}, 400, "query: arg 4 must be the method (Run, Get, First, Paginate) or nil"},
	} {
		if _, code, msg := run("scripts.a.t.Query", c.args...); code != c.code || msg != c.msg {
			t.Errorf("%s: %d %q, want %d %q", c.name, code, msg, c.code, c.msg)
		}
	}
}

func TestQueryWithoutAnEngineGoesToGou(t *testing.T) {
	setup(t)
	if _, code, msg := run("scripts.a.t.Query", map[string]interface{}{"from": "user"}); code != 404 {
		t.Errorf("no QueryEngine: %d %q", code, msg)
	}
	// A query.Run process gou has registered wins over the engines.
	setupWith(t, Options{QueryEngine: fakeEngines})
	process.Register("query.Run", func(p *process.Process) interface{} { return "gou's own" })
	t.Cleanup(func() { delete(process.Handlers, "query.run") })
	if got, err := process.New("scripts.a.t.Query", map[string]interface{}{"from": "user"}).Exec(); err != nil || got != "gou's own" {
		t.Errorf("gou's query.Run: %#v %v", got, err)
	}
}

func TestRunQueryChecksItsArgs(t *testing.T) {
	for _, args := range [][]interface{}{
		nil, {7}, {map[string]interface{}{}, []interface{}{1}}, {map[string]interface{}{}, nil, 3},
		{map[string]interface{}{}, nil, nil, "get"}, {map[string]interface{}{}, nil, nil, nil, 1},
	} {
		if _, err := RunQuery(fakeEngines, args); err == nil || !errors.Is(err, err) || err.Error()[:3] != "400" {
			t.Errorf("%#v: %v", args, err)
		}
	}
}
