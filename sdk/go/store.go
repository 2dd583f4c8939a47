package yao

import "time"

// NamedStore is one of Yao's named key-value stores (docs/ABI.md §5): keys
// are strings, values any Yao value, each entry with its own expiry. Which
// backend a name uses (the runtime's memory, the host's stores, Redis) is the
// runtime's config; the script code is the same for all three. Make one with
// [Store]; it holds only the name.
//
//	cache := yao.Store("cache")
//	if err := cache.Set("user:1", user, time.Minute); err != nil {
//		return nil, err
//	}
//	user, err := cache.Get("user:1") // nil when absent or expired
//
// A failure is an *Error with the host's code: 400 for a bad key, name or
// ttl, 502 when a Redis backend cannot be reached, or whatever the host's
// store raised.
type NamedStore struct {
	name string
}

// Store returns the store called name (1–128 bytes).
func Store(name string) NamedStore {
	return NamedStore{name: name}
}

// Name is the store's name.
func (s NamedStore) Name() string { return s.name }

// what names a method of this store in errors, as the process it mirrors.
func (s NamedStore) what(method string) string { return "stores." + s.name + "." + method }

func (s NamedStore) invoke(method string, args ...any) ([]byte, error) {
	return invoke(s.what(method), args, func(encoded []byte) ([]byte, bool) {
		return hostStore(s.name, method, encoded)
	})
}

// Call runs any store method with positional args (Get, Set, ... or one the
// host's store adds) and returns its result.
func (s NamedStore) Call(method string, args ...any) (any, error) {
	answer, err := s.invoke(method, args...)
	return decodeAnswer[any](s.what(method), answer, err)
}

// Get returns the value of key, or nil when it is absent or expired.
func (s NamedStore) Get(key string) (any, error) {
	answer, err := answered(hostStoreGet(s.name, key))
	return decodeAnswer[any](s.what("Get"), answer, err)
}

// Set stores value under key for ttl; a ttl of 0 means no expiry. Whole
// seconds go through the store_set fast path; a ttl with a fraction of a
// second goes through Set with the seconds as a float. A negative ttl is a
// 400.
func (s NamedStore) Set(key string, value any, ttl time.Duration) error {
	if ttl < 0 {
		return Errorf(400, "%s: negative ttl %v", s.what("Set"), ttl)
	}
	if ttl%time.Second != 0 {
		_, err := s.invoke("Set", key, value, ttlSeconds(ttl))
		return err
	}
	encoded, err := Marshal(value)
	if err != nil {
		return Errorf(400, "%s: cannot encode the value: %v", s.what("Set"), err)
	}
	_, err = answered(hostStoreSet(s.name, key, encoded, int64(ttl/time.Second)))
	return err
}

// Has reports whether key holds a live value.
func (s NamedStore) Has(key string) (bool, error) {
	answer, err := s.invoke("Has", key)
	return decodeAnswer[bool](s.what("Has"), answer, err)
}

// Del removes key; an absent key is fine.
func (s NamedStore) Del(key string) error {
	_, err := answered(hostStoreDel(s.name, key))
	return err
}

// Keys returns every live key, sorted.
func (s NamedStore) Keys() ([]string, error) {
	answer, err := s.invoke("Keys")
	return decodeAnswer[[]string](s.what("Keys"), answer, err)
}

// Len returns the number of live keys.
func (s NamedStore) Len() (int, error) {
	answer, err := s.invoke("Len")
	return decodeAnswer[int](s.what("Len"), answer, err)
}

// Clear removes every key of this store.
func (s NamedStore) Clear() error {
	_, err := s.invoke("Clear")
	return err
}

// GetSet is Yao's get-or-set: the live value of key (left unchanged), or
// else value, stored with ttl (0: no expiry) and returned.
func (s NamedStore) GetSet(key string, value any, ttl time.Duration) (any, error) {
	if ttl < 0 {
		return nil, Errorf(400, "%s: negative ttl %v", s.what("GetSet"), ttl)
	}
	args := []any{key, value}
	if ttl > 0 {
		args = append(args, ttlSeconds(ttl))
	}
	answer, err := s.invoke("GetSet", args...)
	return decodeAnswer[any](s.what("GetSet"), answer, err)
}

// GetDel returns the value of key (nil when absent) and removes the key.
func (s NamedStore) GetDel(key string) (any, error) {
	answer, err := s.invoke("GetDel", key)
	return decodeAnswer[any](s.what("GetDel"), answer, err)
}

// Incr adds by to the integer at key (an absent or expired key counts as 0)
// atomically, keeping the key's TTL, and returns the new value. Of
// concurrent Incrs, on one runtime or many sharing a Redis store, none is
// lost. A value that is not a number is a 400 (and stays as it was); a key
// that holds a float answers a float, which Incr refuses with a 500 rather
// than truncate it: use IncrFloat for those.
func (s NamedStore) Incr(key string, by int64) (int64, error) {
	answer, err := s.invoke("Incr", key, by)
	n, err := decodeAnswer[any](s.what("Incr"), answer, err)
	if err != nil {
		return 0, err
	}
	if i, ok := n.(int64); ok {
		return i, nil
	}
	return 0, Errorf(500, "%s: the new value %v is not an integer (use IncrFloat)", s.what("Incr"), n)
}

// IncrFloat is Incr with a float step; the new value as a float64 (an
// integer answer converts).
func (s NamedStore) IncrFloat(key string, by float64) (float64, error) {
	answer, err := s.invoke("Incr", key, by)
	n, err := decodeAnswer[any](s.what("Incr"), answer, err)
	if err != nil {
		return 0, err
	}
	switch v := n.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	}
	return 0, Errorf(500, "%s: the new value %v is not a number", s.what("Incr"), n)
}

// The list methods: gou's array operations on the value at a key
// (docs/ABI.md §5). An absent key is an empty list to the readers and the
// removers; the writers make the list; a list emptied by Pop, Pull or
// PullAll is deleted. A key that holds something other than a list is a
// 400 for all but ArrayLen. Elements are equal when they are the same value
// (1 and 1.0 differ).
//
//	jobs := yao.Store("jobs")
//	if err := jobs.Push("todo", "a", "b"); err != nil {
//		return nil, err
//	}
//	next, err := jobs.Pop("todo", -1) // "a": the first

// Push appends values in order, making the list when key is absent (at
// least one value: none is a 400).
func (s NamedStore) Push(key string, values ...any) error {
	_, err := s.invoke("Push", append([]any{key}, values...)...)
	return err
}

// Pop removes and returns an element: the last for position 1, the first
// for any other position (gou uses -1). A 404 when the list is empty or the
// key absent.
func (s NamedStore) Pop(key string, position int) (any, error) {
	answer, err := s.invoke("Pop", key, position)
	return decodeAnswer[any](s.what("Pop"), answer, err)
}

// Pull removes every element equal to value; fine when the key is absent.
func (s NamedStore) Pull(key string, value any) error {
	_, err := s.invoke("Pull", key, value)
	return err
}

// PullAll removes every element equal to any of values (none: nothing);
// fine when the key is absent.
func (s NamedStore) PullAll(key string, values ...any) error {
	// Always the one-array form [key, [values]]: sent flat, a single value
	// that is itself an array would be read as the list of values.
	if values == nil {
		values = []any{}
	}
	_, err := s.invoke("PullAll", key, values)
	return err
}

// AddToSet appends, in order, each of values not already in the list (nor
// earlier among values), making the list when key is absent; at least one.
func (s NamedStore) AddToSet(key string, values ...any) error {
	_, err := s.invoke("AddToSet", append([]any{key}, values...)...)
	return err
}

// ArrayLen returns the number of elements: 0 for an absent key or a value
// that is not a list.
func (s NamedStore) ArrayLen(key string) (int, error) {
	answer, err := s.invoke("ArrayLen", key)
	return decodeAnswer[int](s.what("ArrayLen"), answer, err)
}

// ArrayGet returns the element at index (from 0): a 404 past the end or on
// an absent key, a 400 for a negative index.
func (s NamedStore) ArrayGet(key string, index int) (any, error) {
	answer, err := s.invoke("ArrayGet", key, index)
	return decodeAnswer[any](s.what("ArrayGet"), answer, err)
}

// ArraySet replaces the element at index: a 404 past the end or on an
// absent key, a 400 for a negative index.
func (s NamedStore) ArraySet(key string, index int, value any) error {
	_, err := s.invoke("ArraySet", key, index, value)
	return err
}

// ArraySlice returns up to limit elements after the first skip: empty for a
// negative skip, a limit under 1, past the end, or on an absent key.
func (s NamedStore) ArraySlice(key string, skip, limit int) ([]any, error) {
	answer, err := s.invoke("ArraySlice", key, skip, limit)
	return s.list("ArraySlice", answer, err)
}

// ArrayPage returns page page (from 1) of pageSize elements: empty for a
// page or size under 1, past the end, or on an absent key.
func (s NamedStore) ArrayPage(key string, page, pageSize int) ([]any, error) {
	answer, err := s.invoke("ArrayPage", key, page, pageSize)
	return s.list("ArrayPage", answer, err)
}

// ArrayAll returns every element: empty (not nil) for an absent key.
func (s NamedStore) ArrayAll(key string) ([]any, error) {
	answer, err := s.invoke("ArrayAll", key)
	return s.list("ArrayAll", answer, err)
}

// list decodes an array answer through `any`, so its elements come out as
// Unmarshal gives them (int64 and float64, not the wire's int8 or uint16).
func (s NamedStore) list(method string, answer []byte, err error) ([]any, error) {
	v, err := decodeAnswer[any](s.what(method), answer, err)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, Errorf(500, "%s: the result %v is not a list", s.what(method), v)
	}
	return items, nil
}

// ttlSeconds is a ttl as the store methods take it: integer seconds when it
// is whole, float seconds otherwise.
func ttlSeconds(ttl time.Duration) any {
	if ttl%time.Second == 0 {
		return int64(ttl / time.Second)
	}
	return ttl.Seconds()
}
