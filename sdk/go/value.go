package yao

import (
	"bytes"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Marshal encodes v as the MessagePack bytes of a Yao value. Integers are
// written in their most compact form and stay integers; structs use their
// `msgpack` tag, or their `json` tag when they have none.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetCustomStructTag("json")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes MessagePack bytes into v. Decoded into a *any, values
// come out as nil, bool, int64, uint64 (only above math.MaxInt64), float64,
// string, []byte, []any or map[string]any. Into typed targets (structs,
// slices, maps of concrete types) the usual msgpack rules apply; prefer
// concrete field types there, since a field of type `any` inside a struct
// gets the exact wire type (int8, uint16, ...).
func Unmarshal(data []byte, v any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.SetCustomStructTag("json")
	dec.SetMapDecoder(decodeMap)
	if target, ok := v.(*any); ok {
		value, err := decodeAny(dec)
		if err != nil {
			return err
		}
		*target = value
		return nil
	}
	return dec.Decode(v)
}

// decodeAny reads one value with the integer and float types normalized, so
// a script can switch on int64 and float64 alone.
func decodeAny(dec *msgpack.Decoder) (any, error) {
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// decodeMap decodes maps as map[string]any (Yao maps have string keys) with
// normalized values.
func decodeMap(dec *msgpack.Decoder) (any, error) {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, nil
	}
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		value, err := decodeAny(dec)
		if err != nil {
			return nil, err
		}
		m[key] = value
	}
	return m, nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
	case float32:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	}
	return v
}

// decodeArgs decodes a script function's arguments: one array (SPEC §2).
// Empty bytes mean no arguments.
func decodeArgs(data []byte) ([]any, error) {
	if len(data) == 0 {
		return []any{}, nil
	}
	var v any
	if err := Unmarshal(data, &v); err != nil {
		return nil, err
	}
	switch args := v.(type) {
	case []any:
		return args, nil
	case nil:
		return []any{}, nil
	default:
		return nil, fmt.Errorf("arguments must be an array, got %T", v)
	}
}
