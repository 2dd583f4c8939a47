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

// ttlSeconds is a ttl as the store methods take it: integer seconds when it
// is whole, float seconds otherwise.
func ttlSeconds(ttl time.Duration) any {
	if ttl%time.Second == 0 {
		return int64(ttl / time.Second)
	}
	return ttl.Seconds()
}
