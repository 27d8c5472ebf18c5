package runtime

import "github.com/redirc/redirc/shardfmt"

// openReusing is Open for a reload of the build directory dir while cur
// serves: the shards cur shares with the new build (same content-addressed
// file name) are reused without being read or verified again, so a
// one-rule change reloads one shard (shardfmt.LoadBuildReusing). A nil cur,
// or one served from an origin, loads the whole build.
func openReusing(dir string, cur *Set) (*Set, error) {
	var prev *shardfmt.Build
	if cur != nil && cur.lazy == nil {
		prev = cur.build
	}
	b, err := shardfmt.LoadBuildReusing(dir, prev)
	if err != nil {
		return nil, openError(dir, err)
	}
	return newSet(b), nil
}
