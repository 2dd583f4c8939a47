package yaowasm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// The MessagePack codec of the binding. The library
// (github.com/vmihailenco/msgpack/v5) defines the format: its encoder with
// json struct tags and compact ints, its decoder into interface{} then
// normalize. The fast paths below write and read the plain Yao shapes (nil,
// bool, numbers, string, []byte, []any, map[string]any) without reflection
// and produce exactly what the library does (codec_test.go compares them);
// anything else (structs, named types, time, ext types, bad input) goes
// through the library.

// marshal encodes a Go value as MessagePack; structs use their json tags
// (as gou's values do), integers are written in their smallest form.
func marshal(v any) ([]byte, error) { return appendMsgpack(nil, v) }

// appendMsgpack appends the encoding of v to b.
func appendMsgpack(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case string:
		return appendString(b, x), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int64:
		return appendInt(b, x), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int8:
		return appendInt(b, int64(x)), nil
	case uint:
		return appendUint(b, uint64(x)), nil
	case uint64:
		return appendUint(b, x), nil
	case uint32:
		return appendUint(b, uint64(x)), nil
	case uint16:
		return appendUint(b, uint64(x)), nil
	case uint8:
		return appendUint(b, uint64(x)), nil
	case float64:
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case float32:
		b = append(b, 0xca)
		return binary.BigEndian.AppendUint32(b, math.Float32bits(x)), nil
	case []byte:
		if x == nil {
			return append(b, 0xc0), nil
		}
		l := len(x)
		switch {
		case l < 256:
			b = append(b, 0xc4, byte(l))
		case l <= math.MaxUint16:
			b = append(b, 0xc5, byte(l>>8), byte(l))
		default:
			b = append(b, 0xc6)
			b = binary.BigEndian.AppendUint32(b, uint32(l))
		}
		return append(b, x...), nil
	case []any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendArray(b, x)
	case []string:
		if x == nil {
			return append(b, 0xc0), nil
		}
		b = appendArrayLen(b, len(x))
		for _, e := range x {
			b = appendString(b, e)
		}
		return b, nil
	case map[string]any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		b = appendMapLen(b, len(x))
		var err error
		for k, e := range x {
			b = appendString(b, k)
			if b, err = appendMsgpack(b, e); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	return appendLibrary(b, v)
}

// appendArray appends s as an array (nil too: an empty one).
func appendArray(b []byte, s []any) ([]byte, error) {
	b = appendArrayLen(b, len(s))
	var err error
	for _, e := range s {
		if b, err = appendMsgpack(b, e); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendWriter is the io.Writer and io.ByteWriter the library encoder
// appends to.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *appendWriter) WriteByte(c byte) error      { w.b = append(w.b, c); return nil }

var appendWriters = sync.Pool{New: func() any { return new(appendWriter) }}

func appendLibrary(b []byte, v any) ([]byte, error) {
	w := appendWriters.Get().(*appendWriter)
	w.b = b
	enc := msgpack.GetEncoder()
	enc.Reset(w)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	err := enc.Encode(v)
	msgpack.PutEncoder(enc)
	b = w.b
	w.b = nil
	appendWriters.Put(w)
	return b, err
}

func appendString(b []byte, s string) []byte {
	l := len(s)
	switch {
	case l < 32:
		b = append(b, 0xa0|byte(l))
	case l < 256:
		b = append(b, 0xd9, byte(l))
	case l <= math.MaxUint16:
		b = append(b, 0xda, byte(l>>8), byte(l))
	default:
		b = append(b, 0xdb)
		b = binary.BigEndian.AppendUint32(b, uint32(l))
	}
	return append(b, s...)
}

func appendArrayLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x90|byte(l))
	case l <= math.MaxUint16:
		return append(b, 0xdc, byte(l>>8), byte(l))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(l))
}

func appendMapLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x80|byte(l))
	case l <= math.MaxUint16:
		return append(b, 0xde, byte(l>>8), byte(l))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(l))
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xcd, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return append(b, 0xd1, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

// unmarshal decodes one MessagePack value into Yao's Go shapes: nil, bool,
// int (uint64 when above MaxInt64), float64, string, []byte, []any,
// map[string]any (non-string keys are formatted as strings, as SPEC §2 does
// for JSON). Bytes after the first value are ignored. data is not retained
// (strings and []byte values are copies), so it may be C memory.
func unmarshal(data []byte) (any, error) {
	d := decoder{data: data}
	if v, ok := d.value(0); ok {
		return v, nil
	}
	if d.short {
		// A length beyond the data: the library would first allocate it
		// (up to 4G elements), then fail.
		return nil, errTruncated
	}
	// Ext types, bad input or deep nesting: the library, on a Go copy.
	return unmarshalLibrary(bytes.Clone(data))
}

func unmarshalLibrary(data []byte) (any, error) {
	var v any
	if err := msgpack.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

func unmarshalStrict(data []byte, out any) error { return msgpack.Unmarshal(data, out) }

// decoder is the fast path of unmarshal; any value it does not read exactly
// as the library does (ext, truncated or bad input, nesting beyond
// maxDecodeDepth) makes it give up (ok false).
type decoder struct {
	data  []byte
	pos   int
	short bool // input ends before a value or a declared length
}

var errTruncated = errors.New("msgpack: unexpected EOF")

const maxDecodeDepth = 512

func (d *decoder) n(k int) (uint64, bool) {
	if k > len(d.data)-d.pos {
		d.short = true
		return 0, false
	}
	var v uint64
	for _, c := range d.data[d.pos : d.pos+k] {
		v = v<<8 | uint64(c)
	}
	d.pos += k
	return v, true
}

func (d *decoder) bytes(l uint64) ([]byte, bool) {
	if l > uint64(len(d.data)-d.pos) {
		d.short = true
		return nil, false
	}
	b := d.data[d.pos : d.pos+int(l)]
	d.pos += int(l)
	return b, true
}

func (d *decoder) value(depth int) (any, bool) {
	if d.pos >= len(d.data) {
		d.short = true
		return nil, false
	}
	if depth > maxDecodeDepth {
		return nil, false
	}
	c := d.data[d.pos]
	d.pos++
	switch {
	case c <= 0x7f:
		return int(c), true
	case c >= 0xe0:
		return int(int8(c)), true
	case c >= 0xa0 && c <= 0xbf:
		return d.str(uint64(c & 0x1f))
	case c >= 0x90 && c <= 0x9f:
		return d.array(uint64(c&0x0f), depth)
	case c >= 0x80 && c <= 0x8f:
		return d.mapOf(uint64(c&0x0f), depth)
	}
	var l uint64
	var ok bool
	switch c {
	case 0xc0:
		return nil, true
	case 0xc2:
		return false, true
	case 0xc3:
		return true, true
	case 0xca:
		if l, ok = d.n(4); ok {
			return float64(math.Float32frombits(uint32(l))), true
		}
	case 0xcb:
		if l, ok = d.n(8); ok {
			return math.Float64frombits(l), true
		}
	case 0xcc, 0xcd, 0xce, 0xcf:
		if l, ok = d.n(1 << (c - 0xcc)); ok {
			if l > math.MaxInt64 {
				return l, true
			}
			return int(l), true
		}
	case 0xd0:
		if l, ok = d.n(1); ok {
			return int(int8(l)), true
		}
	case 0xd1:
		if l, ok = d.n(2); ok {
			return int(int16(l)), true
		}
	case 0xd2:
		if l, ok = d.n(4); ok {
			return int(int32(l)), true
		}
	case 0xd3:
		if l, ok = d.n(8); ok {
			return int(int64(l)), true
		}
	case 0xc4, 0xc5, 0xc6:
		if l, ok = d.n(1 << (c - 0xc4)); ok {
			if b, ok := d.bytes(l); ok {
				return bytes.Clone(b), true
			}
		}
	case 0xd9, 0xda, 0xdb:
		if l, ok = d.n(1 << (c - 0xd9)); ok {
			return d.str(l)
		}
	case 0xdc, 0xdd:
		if l, ok = d.n(2 << (c - 0xdc)); ok {
			return d.array(l, depth)
		}
	case 0xde, 0xdf:
		if l, ok = d.n(2 << (c - 0xde)); ok {
			return d.mapOf(l, depth)
		}
	}
	return nil, false
}

func (d *decoder) str(l uint64) (any, bool) {
	b, ok := d.bytes(l)
	if !ok {
		return nil, false
	}
	return string(b), true
}

func (d *decoder) array(l uint64, depth int) (any, bool) {
	if l > uint64(len(d.data)-d.pos) { // every element takes a byte at least
		d.short = true
		return nil, false
	}
	s := make([]any, l)
	for i := range s {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		s[i] = v
	}
	return s, true
}

func (d *decoder) mapOf(l uint64, depth int) (any, bool) {
	if l > uint64(len(d.data)-d.pos)/2 {
		d.short = true
		return nil, false
	}
	m := make(map[string]any, l)
	for range l {
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

// key reads a map key as the library's DecodeString: str or bin, nil is "".
func (d *decoder) key() (string, bool) {
	if d.pos >= len(d.data) {
		d.short = true
		return "", false
	}
	c := d.data[d.pos]
	d.pos++
	var l uint64
	var ok bool
	switch {
	case c >= 0xa0 && c <= 0xbf:
		l, ok = uint64(c&0x1f), true
	case c == 0xc0:
		return "", true
	case c == 0xd9 || c == 0xc4:
		l, ok = d.n(1)
	case c == 0xda || c == 0xc5:
		l, ok = d.n(2)
	case c == 0xdb || c == 0xc6:
		l, ok = d.n(4)
	}
	if !ok {
		return "", false
	}
	b, ok := d.bytes(l)
	return string(b), ok
}

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
