package bench

import "syscall"

// threadCPU returns the CPU time (user and system) of the calling thread in
// nanoseconds, with getrusage(RUSAGE_THREAD), which Linux keeps to the
// microsecond.
func threadCPU() int64 {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
