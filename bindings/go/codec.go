package yaowasm

import (
	"bytes"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// marshal encodes a Go value as MessagePack; structs use their json tags
// (as gou's values do), integers are written in their smallest form.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unmarshal decodes one MessagePack value into Yao's Go shapes: nil, bool,
// int (uint64 when above MaxInt64), float64, string, []byte, []any,
// map[string]any (non-string keys are formatted as strings, as SPEC §2 does
// for JSON).
func unmarshal(data []byte) (any, error) {
	var v any
	if err := msgpack.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

func unmarshalStrict(data []byte, out any) error { return msgpack.Unmarshal(data, out) }

func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int(x)
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return int(x)
	case uint8:
		return int(x)
	case uint16:
		return int(x)
	case uint32:
		return int(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int(x)
		}
		return x
	case float32:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	default:
		return v
	}
}
