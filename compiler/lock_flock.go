//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redirc/redirc/shardfmt"
)

// lockDir takes an exclusive flock on dir's lock file (shardfmt.LockFileName,
// created if missing and never removed: removing it would let a waiter lock
// the old inode while a newcomer locks a new one). It waits until the lock
// is free or ctx is done. The lock is per open file, so it excludes other
// goroutines of this process as well as other processes, and the kernel
// releases it if the process dies.
//
// On a file system that cannot lock (flock reports ENOLCK or EOPNOTSUPP,
// as some network file systems do) the write goes ahead unlocked, as every
// write did before there was a lock.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	path := filepath.Join(dir, shardfmt.LockFileName)
	// O_NOFOLLOW: a symbolic link planted under the lock file's name must
	// not make the build create or open a file outside dir.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking output directory: %w", err)
	}
	fd := int(f.Fd())
	start := time.Now()
	delay := lockPollMin
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() {
				syscall.Flock(fd, syscall.LOCK_UN)
				f.Close()
			}, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP):
			return func() { f.Close() }, nil
		case !errors.Is(err, syscall.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("locking output directory: flock %s: %w", path, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("%w: %s still held after %v: %w", ErrDirLocked, path, time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}
