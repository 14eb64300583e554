// Command local-cluster runs the local cluster of test/localcluster in the
// foreground until it gets SIGINT or SIGTERM, then stops every process of it.
// Run it from the repository root, after hack/tools.sh control-plane kwok:
//
//	go run ./hack/local-cluster up [-nodes 3] [-dir bin/local-cluster]
//
// hack/local-cluster.sh runs it in the background instead. With "operator"
// it installs the operator into a running local cluster as `make deploy`
// would, and runs bin/manager on this machine under the operator's service
// account, with its webhooks, until interrupted:
//
//	go run ./hack/local-cluster operator [-kubeconfig bin/local-cluster/kubeconfig] [-dir bin/operator]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/dashflow/dashstream-operator/test/localcluster"
)

// startTimeout bounds the whole start, binaries already built.
const startTimeout = 5 * time.Minute

func main() {
	var err error
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "up":
		var o localcluster.Options
		if o, err = parseFlags(os.Args[2:]); err == nil {
			err = run(o)
		}
	case len(os.Args) >= 2 && os.Args[1] == "operator":
		err = runOperator(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: local-cluster up [-nodes N] [-dir DIR] [-assets-dir DIR] "+
			"[-kwok FILE] [-kwok-stages FILE]\n       local-cluster operator [-kubeconfig FILE] [-dir DIR]")
		os.Exit(2)
	}

	if err != nil {
		fmt.Fprintln(os.Stderr, "local-cluster:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags of "up" into cluster options.
func parseFlags(args []string) (localcluster.Options, error) {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	o := localcluster.Options{Out: os.Stdout}
	fs.IntVar(&o.Nodes, "nodes", 3, "number of fake nodes")
	fs.StringVar(&o.Dir, "dir", "bin/local-cluster", "folder for the kubeconfig, logs and pid file")
	fs.StringVar(&o.AssetsDir, "assets-dir", "", "folder of etcd and the kube-* binaries "+
		"(default: the folder bin/kube-apiserver links to)")
	fs.StringVar(&o.KwokBinary, "kwok", "bin/kwok", "kwok binary")
	fs.StringVar(&o.KwokStages, "kwok-stages", "bin/kwok-stages.yaml", "kwok stage documents")
	_ = fs.Parse(args)

	if o.AssetsDir != "" {
		return o, nil
	}

	apiserver, err := filepath.EvalSymlinks("bin/kube-apiserver")
	if err != nil {
		return o, fmt.Errorf("find assets (run hack/tools.sh control-plane kwok from the repository root): %w", err)
	}
	o.AssetsDir = filepath.Dir(apiserver)

	return o, nil
}

// run starts the cluster, waits for a signal and stops it. A signal during
// the start cancels it, and Start then stops what it had begun.
func run(o localcluster.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pidFile, err := writePID(o.Dir)
	if err != nil {
		return err
	}
	defer removePID(pidFile)

	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	began := time.Now()
	c, err := localcluster.Start(startCtx, o)
	if err != nil {
		return err
	}

	fmt.Printf("local cluster up in %s; kubeconfig: %s\nexport KUBECONFIG=%s\n",
		time.Since(began).Round(100*time.Millisecond), c.Kubeconfig, c.Kubeconfig)
	<-ctx.Done()

	fmt.Println("stopping local cluster")
	return c.Stop()
}

// writePID records this process's pid in <dir>/pid.
func writePID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}

	path := filepath.Join(dir, "pid")
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write pid file: %w", err)
	}

	return path, nil
}

// removePID deletes the pid file if it still names this process.
func removePID(path string) {
	data, err := os.ReadFile(path)
	if err != nil || string(data) != strconv.Itoa(os.Getpid())+"\n" {
		return
	}

	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "local-cluster: remove pid file:", err)
	}
}
