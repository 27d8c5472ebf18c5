//go:build !linux

package shardfmt

// adviseHugePages does nothing outside Linux.
func adviseHugePages(b []byte) {}
