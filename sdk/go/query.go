package yao

// Query runs a QueryDSL query and returns its result (the rows, for a
// select). The DSL is Yao's query map; the rest of the args array follows
// it as given: bindings (a map, or nil), the engine (default "default") and
// the method (Run, the default, lets the DSL decide; Get, First, Paginate),
// docs/ABI.md §8. The host runs the query (gou owns QueryDSL) as the process
// `query.Run`; without a host that serves it the error is a 404.
//
//	rows, err := yao.Query(map[string]any{"select": []string{"id"}, "from": "user"})
//	page, err := yao.Query(dsl, map[string]any{"status": "on"}, "stats", "Paginate")
func Query(dsl any, bindings ...any) (any, error) {
	answer, err := query(dsl, bindings)
	return decodeAnswer[any]("query.Run", answer, err)
}

// QueryAs is Query with the result decoded into T.
//
//	users, err := yao.QueryAs[[]User](dsl)
func QueryAs[T any](dsl any, bindings ...any) (T, error) {
	answer, err := query(dsl, bindings)
	return decodeAnswer[T]("query.Run", answer, err)
}

func query(dsl any, bindings []any) ([]byte, error) {
	return invoke("query.Run", append([]any{dsl}, bindings...), hostQuery)
}

// QueryEngine is one of the host's query engines, Yao's `new Query(engine)`:
// Get, First, Paginate and Run send [dsl, bindings, engine, method] with the
// defaults (no bindings, the "default" engine, Run) left off the end, as the
// Rust and JS SDKs do.
//
//	page, err := yao.NewQuery("stats").Paginate(dsl, map[string]any{"status": "on"})
//	row, err := yao.NewQuery("").First(dsl, nil)
type QueryEngine struct{ name string }

// NewQuery names an engine; "" is the default one.
func NewQuery(engine string) QueryEngine { return QueryEngine{name: engine} }

// Get answers the rows. bindings fill the DSL's ?:name placeholders (nil: none).
func (q QueryEngine) Get(dsl any, bindings map[string]any) ([]any, error) {
	return queryAs[[]any](q, dsl, bindings, "Get")
}

// First answers the first row, or nil.
func (q QueryEngine) First(dsl any, bindings map[string]any) (map[string]any, error) {
	return queryAs[map[string]any](q, dsl, bindings, "First")
}

// Paginate answers one page: {items, total, page, pagesize, pagecnt, next, prev}.
func (q QueryEngine) Paginate(dsl any, bindings map[string]any) (map[string]any, error) {
	return queryAs[map[string]any](q, dsl, bindings, "Paginate")
}

// Run answers what the DSL asks for (a page, the first row, or the rows).
func (q QueryEngine) Run(dsl any, bindings map[string]any) (any, error) {
	return queryAs[any](q, dsl, bindings, "")
}

func queryAs[T any](q QueryEngine, dsl any, bindings map[string]any, method string) (T, error) {
	args := []any{dsl, nil, nil, nil}
	if bindings != nil {
		args[1] = bindings
	}
	if q.name != "" && q.name != "default" {
		args[2] = q.name
	}
	if method != "" {
		args[3] = method
	}
	for len(args) > 1 && args[len(args)-1] == nil {
		args = args[:len(args)-1]
	}
	answer, err := query(args[0], args[1:])
	return decodeAnswer[T]("query.Run", answer, err)
}
