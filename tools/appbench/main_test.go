package main

import "testing"

// The ranks are the textbook ones: for 15 samples the 4th and 12th
// smallest cover the median with 96.5% probability, the 5th and 11th with
// only 88%.
func TestMedianCI(t *testing.T) {
	xs := []float64{15, 3, 9, 1, 12, 6, 14, 2, 8, 11, 5, 13, 7, 4, 10}
	lo, hi, ok := medianCI(xs)
	if !ok || lo != 4 || hi != 12 {
		t.Errorf("medianCI of 1..15 = %v, %v, %v; want 4, 12, true", lo, hi, ok)
	}
	lo, hi, ok = medianCI([]float64{6, 1, 5, 2, 4, 3})
	if !ok || lo != 1 || hi != 6 {
		t.Errorf("medianCI of 1..6 = %v, %v, %v; want 1, 6, true", lo, hi, ok)
	}
	if _, _, ok := medianCI([]float64{1, 2, 3, 4, 5}); ok {
		t.Error("medianCI of 5 samples claimed a 95% interval")
	}
}
