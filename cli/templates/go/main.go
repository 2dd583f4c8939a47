// scripts.{{name}}: built by `yaowasm build` (GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared) into {{out}}.
package main

import yao "github.com/yaoapp/yaowasm/sdk/go"

type Item struct {
	Price float64 `json:"price"`
	Qty   float64 `json:"qty"`
}

type Order struct {
	Items  []Item  `json:"items"`
	Coupon float64 `json:"coupon"`
}

// Total is scripts.{{name}}.Total: what the order costs after its coupon.
func Total(order Order) (float64, error) {
	if len(order.Items) == 0 {
		return 0, yao.NewError(400, "an order needs items")
	}
	sum := 0.0
	for _, item := range order.Items {
		sum += item.Price * item.Qty
	}
	return max(sum-order.Coupon, 0), nil
}

//go:wasmexport Total
func total(p, n uint32) uint64 { return yao.Handle1(p, n, Total) }

// A wasip1 c-shared module needs a main; it is never called.
func main() {}
