package main
import (
 _ "github.com/bits-and-blooms/bloom/v3"
 _ "github.com/cespare/xxhash/v2"
 _ "github.com/klauspost/compress/zstd"
 _ "github.com/urfave/cli/v2"
 _ "github.com/fsnotify/fsnotify"
)
func main(){}
