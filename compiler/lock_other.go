//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package compiler

import "context"

// lockDir does nothing where this package has no flock: writes into one
// directory are not serialized there (see WriteDir).
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	return func() {}, nil
}
