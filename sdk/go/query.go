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
