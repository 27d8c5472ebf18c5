package shardfmt

import "unsafe"

// unsafeStringPtr returns the address of the first byte of s.
func unsafeStringPtr(s string) *byte { return unsafe.StringData(s) }
