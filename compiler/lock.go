package compiler

import (
	"errors"
	"time"
)

// ErrDirLocked is wrapped by WriteDir's error when another build kept the
// output directory locked for longer than the write was allowed to wait
// (DefaultLockWait, or WriteDirContext's context).
var ErrDirLocked = errors.New("compiler: output directory is locked by another build")

// DefaultLockWait is how long WriteDir waits for another build writing into
// the same directory to finish. A write of millions of rules takes seconds;
// a build holding the lock longer is most likely hung (a crashed process
// releases it at once).
const DefaultLockWait = 5 * time.Minute

// Waiting for the lock polls it, backing off from lockPollMin to
// lockPollMax: portable, and a context can stop it at any time.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 50 * time.Millisecond
)
