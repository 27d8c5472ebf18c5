package shardfmt

import "syscall"

// hugePage is the size of a transparent huge page on the platforms Go
// supports on Linux with 4 KiB base pages.
const hugePage = 2 << 20

// adviseHugePages asks the kernel (madvise MADV_HUGEPAGE) to back the
// 2 MiB-aligned part of b with transparent huge pages, as it does by itself
// only when THP is set to "always" (many distributions default to
// "madvise"). It is advice: an error, or THP being off, changes nothing but
// speed. b must be memory this package allocated and has not touched yet.
func adviseHugePages(b []byte) {
	if len(b) < 2*hugePage {
		return
	}
	p := sliceAddr(b)
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + uintptr(len(b))) &^ (hugePage - 1)
	if end > start {
		_ = syscall.Madvise(b[start-p:end-p], syscall.MADV_HUGEPAGE)
	}
}
