package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dashflow/dashstream-operator/test/localcluster"
)

// runOperator installs the operator into the cluster of -kubeconfig and
// runs bin/manager until SIGINT or SIGTERM, then stops it.
func runOperator(args []string) error {
	fs := flag.NewFlagSet("operator", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "bin/local-cluster/kubeconfig", "admin kubeconfig of the cluster")
	dir := fs.String("dir", "bin/operator", "folder for the operator's kubeconfig, certificates and log")
	_ = fs.Parse(args)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	admin, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("read %s: %w", *kubeconfig, err)
	}

	root, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("find the repository root: %w", err)
	}

	op, err := localcluster.InstallOperator(ctx, admin, localcluster.OperatorOptions{Root: root, Dir: *dir})
	if err != nil {
		return err
	}

	return runManager(ctx, op, filepath.Join(root, "bin", "manager"))
}

// runManager starts the manager, says when it is ready and stops it when
// ctx ends.
func runManager(ctx context.Context, op *localcluster.Operator, manager string) error {
	cmd := op.Command(manager, os.Stdout)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", manager, err)
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	if err := waitReady(ctx, op.ReadyURL, exited); err != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return err
	}
	fmt.Fprintln(os.Stderr, "operator ready, webhooks included")

	select {
	case err := <-exited:
		return fmt.Errorf("manager exited: %w", err)
	case <-ctx.Done():
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)

	return <-exited
}

// waitReady polls the manager's /readyz for up to two minutes.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			select {
			case err := <-exited:
				return false, fmt.Errorf("manager exited before it was ready: %w", err)
			default:
			}

			resp, err := http.Get(url) //nolint:gosec // a loopback URL of our own
			if err != nil {
				return false, nil
			}
			_ = resp.Body.Close()

			return resp.StatusCode == http.StatusOK, nil
		})
	if err != nil {
		return fmt.Errorf("wait for the operator to be ready: %w", err)
	}

	return nil
}
