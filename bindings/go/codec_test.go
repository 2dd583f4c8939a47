package yaowasm

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The fast paths of codec.go must give the library's bytes and values.

func libraryMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

type codecStruct struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

type namedMap map[string]any

func codecValues() []any {
	long := func(n int) string { return string(bytes.Repeat([]byte("x"), n)) }
	var vs []any
	for _, n := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		vs = append(vs, int(n), n)
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			vs = append(vs, int32(n))
		}
		if n >= math.MinInt16 && n <= math.MaxInt16 {
			vs = append(vs, int16(n))
		}
		if n >= math.MinInt8 && n <= math.MaxInt8 {
			vs = append(vs, int8(n))
		}
		if n >= 0 {
			vs = append(vs, uint(n), uint64(n))
			if n <= math.MaxUint32 {
				vs = append(vs, uint32(n))
			}
			if n <= math.MaxUint16 {
				vs = append(vs, uint16(n))
			}
			if n <= math.MaxUint8 {
				vs = append(vs, uint8(n))
			}
		}
	}
	vs = append(vs, uint64(math.MaxUint64), 0.0, 1.5, -2.25, math.Inf(1), math.NaN(), float32(1.5), float32(3),
		nil, true, false, "", "é", long(31), long(32), long(255), long(256), long(65535), long(65536),
		[]byte(nil), []byte{}, []byte{1, 2}, bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{7}, 70000),
		[]any(nil), []any{}, make([]any, 15), make([]any, 16), make([]any, 70000),
		[]string(nil), []string{"a", "b"},
		map[string]any(nil), map[string]any{}, map[string]any{"k": "v"},
		codecStruct{"s", 3}, &codecStruct{Name: "p"}, namedMap{"a": 1}, time.Duration(5), time.Unix(1, 2).UTC(),
		[]int{1, 2}, map[string]int{"x": 1}, [2]byte{1, 2},
		[]any{"hello", 42, map[string]any{"k": "v", "n": []any{1, nil, codecStruct{"in", 0}}}})
	for i := 0; i < 20; i++ {
		vs = append(vs, map[string]any{long(i): i})
	}
	big := map[string]any{}
	for i := 0; i < 40; i++ {
		big[long(i+1)] = i
	}
	vs = append(vs, big)
	return vs
}

func TestCodecEncodeMatchesLibrary(t *testing.T) {
	for _, v := range codecValues() {
		want, werr := libraryMarshal(v)
		got, err := marshal(v)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%T %v: err %v, library %v", v, v, err, werr)
		}
		if m, ok := v.(map[string]any); ok && len(m) > 1 || reflect.TypeOf(v) == reflect.TypeOf(map[string]any{}) && len(v.(map[string]any)) > 1 {
			// map order is random: compare decoded
			a, _ := unmarshalLibrary(got)
			b, _ := unmarshalLibrary(want)
			if !reflect.DeepEqual(a, b) || len(got) != len(want) {
				t.Fatalf("%T: % x, library % x", v, got, want)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			// An array holding a map of several keys: Go's map order is
			// random, so the bytes may differ in order; compare decoded.
			if _, ok := v.([]any); ok {
				a, _ := unmarshalLibrary(got)
				b, _ := unmarshalLibrary(want)
				if reflect.DeepEqual(a, b) && len(got) == len(want) {
					continue
				}
			}
			t.Fatalf("%T %.40v: % .40x, library % .40x", v, v, got, want)
		}
	}
	if _, err := marshal([]any{1, make(chan int)}); err == nil {
		t.Fatal("a chan was encoded")
	}
}

func TestCodecDecodeMatchesLibrary(t *testing.T) {
	var inputs [][]byte
	for _, v := range codecValues() {
		b, err := libraryMarshal(v)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
		for _, n := range []int{0, 1, len(b) / 2, len(b) - 1} { // truncated
			if n < len(b) {
				inputs = append(inputs, b[:n])
			}
		}
		inputs = append(inputs, append(bytes.Clone(b), 0xc3)) // trailing byte
	}
	inputs = append(inputs,
		[]byte{0x81, 0xc0, 1},                       // nil key
		[]byte{0x81, 0xc4, 1, 'b', 2},               // bin key
		[]byte{0x81, 1, 2},                          // int key
		[]byte{0x81, 0x91, 1, 2},                    // array key
		[]byte{0xc1},                                // never used
		[]byte{0xd4, 5, 1},                          // fixext1
		[]byte{0x92, 1, 0xd4, 5, 1},                 // fixext1 inside
		[]byte{0xc6, 0, 0, 0, 0},                    // empty bin
		append(bytes.Repeat([]byte{0x91}, 2000), 1), // deeper than the fast path goes
	)
	for _, in := range inputs {
		want, werr := unmarshalLibrary(bytes.Clone(in))
		got, err := unmarshal(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("% .40x: err %v, library %v", in, err, werr)
		}
		if !reflect.DeepEqual(got, want) && !(isNaN(got) && isNaN(want)) {
			t.Fatalf("% .40x: %#.60v, library %#.60v", in, got, want)
		}
	}
	// Lengths beyond the data: the library would allocate them first.
	for _, in := range [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xdf, 0xff, 0xff, 0xff, 0xff},
		{0xdb, 0xff, 0xff, 0xff, 0xff}, {0xc6, 0xff, 0xff, 0xff, 0xff},
	} {
		if v, err := unmarshal(in); err == nil {
			t.Fatalf("% x: %v", in, v)
		}
	}
}

func isNaN(v any) bool { f, ok := v.(float64); return ok && math.IsNaN(f) }

func BenchmarkCodec(b *testing.B) {
	b.Run("marshal", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf, _ = appendMsgpack(buf[:0], echoArgs)
		}
	})
	b.Run("marshalLibrary", func(b *testing.B) {
		for b.Loop() {
			libraryMarshal(echoArgs)
		}
	})
	data, _ := marshal(echoArgs)
	b.Run("unmarshal", func(b *testing.B) {
		for b.Loop() {
			unmarshal(data)
		}
	})
	b.Run("unmarshalLibrary", func(b *testing.B) {
		for b.Loop() {
			unmarshalLibrary(data)
		}
	})
}
