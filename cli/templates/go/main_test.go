package main

import "testing"

func TestTotalTakesTheCouponOff(t *testing.T) {
	if got, err := Total(Order{Items: []Item{{Price: 10, Qty: 2}}, Coupon: 5}); err != nil || got != 15 {
		t.Fatalf("Total = %v, %v; want 15", got, err)
	}
	if _, err := Total(Order{}); err == nil {
		t.Fatal("an order without items must fail")
	}
}
