//go:build !linux

package bench

// threadCPU is not measured outside Linux; cpu-ns/op then reads 0.
func threadCPU() int64 { return 0 }
