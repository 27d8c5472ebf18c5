package runtime

import (
	"io/fs"

	"github.com/redirc/redirc/shardfmt"
)

// OpenFS is Open for a build directory inside a file system: dir is the
// directory's slash-separated path in fsys ("." for its root). It is meant
// for a program that ships its redirects inside its binary:
//
//	//go:embed redirects
//	var redirects embed.FS
//
//	set, err := runtime.OpenFS(redirects, "redirects")
//
// where redirects/ is the output of `redirc build -o redirects`. (go:embed
// leaves out dot files such as the build directory's lock file; a build
// needs only index.json and the shard files.) The build is verified exactly
// as Open verifies it, and its bytes are copied into memory, so the Set does
// not keep fsys.
func OpenFS(fsys fs.FS, dir string) (*Set, error) {
	b, err := shardfmt.LoadBuildFS(fsys, dir)
	if err != nil {
		return nil, openError(dir, err)
	}
	return newSet(b), nil
}
