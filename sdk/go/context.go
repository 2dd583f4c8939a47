package yao

// CallContext is who the running call runs for (docs/ABI.md `context`): the
// caller's session id, globals and authorization info, as the host gave them
// to the top-level call (nested calls inherit them). On gou these are the
// calling Process's Sid, Global and Authorized.
type CallContext struct {
	// Sid is the session id ("" when none).
	Sid string `json:"sid"`
	// Global holds the caller's globals (empty when none).
	Global map[string]any `json:"global"`
	// Authorized is the caller's authorization info (user, team, tenant,
	// data constraints), or nil when the call has none.
	Authorized map[string]any `json:"authorized"`
}

// CurrentContext reads the context of the running call (one yao.context
// call; the host reads nothing for calls that never ask). A call without a
// context reads the empty one.
//
//	ctx, err := yao.CurrentContext()
//	tenant := ctx.Global["tenant"]
//	if ctx.Authorized == nil { return nil, yao.NewError(403, "sign in first") }
func CurrentContext() (CallContext, error) {
	answer, err := answered(hostContext())
	// Through any, so values decode as everywhere else in the SDK (integers
	// as int64, maps as map[string]any).
	value, err := decodeAnswer[any]("yao.context", answer, err)
	if err != nil {
		return CallContext{}, err
	}
	fields, _ := value.(map[string]any)
	ctx := CallContext{Global: map[string]any{}}
	ctx.Sid, _ = fields["sid"].(string)
	if global, ok := fields["global"].(map[string]any); ok {
		ctx.Global = global
	}
	ctx.Authorized, _ = fields["authorized"].(map[string]any)
	return ctx, nil
}
