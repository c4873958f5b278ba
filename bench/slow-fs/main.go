// slow-fs: a file system whose every file lookup takes a set time, for the lists bench (bench/speed.ts --only fuse).
//
// It stands in for a networked file system such as Lustre or GPFS, where a stat of a file is a metadata RPC to a
// server: the kernel sends each lookup of a file to this process (entry, attribute and negative timeouts of 0), and
// the answer waits -delay before it is given, for any number of lookups at once (go-fuse serves each request on a
// goroutine of its own), as a metadata server answers many clients at once. Directories answer at once and are
// cached for an hour, as a Lustre client caches the directories it holds locks on. The files are those of BACKING,
// served by go-fuse v2.12.1's loopback node (fs/loopback.go), mounted at MOUNTPOINT with mount(2) itself (root and
// /dev/fuse; no fusermount). It runs until SIGINT or SIGTERM, then unmounts.
//
// strace's delay injection, the other way the bench slows stats, serves every traced call's stops from one tracer
// process, one at a time; here the delay is spent in parallel, as on the real file system.
//
//	slow-fs -delay 2ms BACKING MOUNTPOINT
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var delay time.Duration

// slowNode is go-fuse's loopback node with a lookup that waits `delay` for anything but a directory.
type slowNode struct{ fs.LoopbackNode }

func (n *slowNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	child, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno == 0 && out.Attr.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		out.SetEntryTimeout(time.Hour)
		out.SetAttrTimeout(time.Hour)
		return child, 0
	}
	time.Sleep(delay)
	return child, errno
}

func main() {
	flag.DurationVar(&delay, "delay", 2*time.Millisecond, "how long each lookup of a file waits")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: slow-fs [-delay 2ms] BACKING MOUNTPOINT")
		os.Exit(2)
	}
	backing, mountpoint := flag.Arg(0), flag.Arg(1)
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		fmt.Fprintf(os.Stderr, "slow-fs: %s: %v\n", backing, err)
		os.Exit(1)
	}
	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &slowNode{fs.LoopbackNode{RootData: r}}
	}
	root.RootNode = root.NewNode(root, nil, "", &st)
	none := time.Duration(0)
	server, err := fs.Mount(mountpoint, root.RootNode, &fs.Options{
		EntryTimeout: &none, AttrTimeout: &none, NegativeTimeout: &none,
		MountOptions: fuse.MountOptions{FsName: "slow-fs", MaxBackground: 128, DirectMount: true, DirectMountStrict: true},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "slow-fs: mounting %s: %v\n", mountpoint, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		_ = server.Unmount()
	}()
	server.Wait()
}
