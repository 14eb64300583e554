// Package localcluster runs a small Kubernetes cluster on this machine from
// real control-plane binaries: etcd and kube-apiserver through envtest, then
// kube-controller-manager, kube-scheduler and kwok as child processes. Nodes
// are simulated by kwok, so Deployments become Available, PodDisruptionBudgets
// get a status and drains evict pods, without a container runtime.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options says where the binaries are, how many nodes to simulate and where
// the cluster keeps its files.
type Options struct {
	// AssetsDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kubectl.
	AssetsDir string

	// KwokBinary is the path of the kwok command.
	KwokBinary string

	// KwokStages is a file of kwok Stage documents separated by "---".
	KwokStages string

	// Nodes is how many fake nodes to create; zero creates none.
	Nodes int

	// Dir receives the admin kubeconfig, the certificates, the etcd data and
	// logs/<component>.log. What a previous cluster left there is replaced.
	Dir string

	// Out receives short progress lines; nil discards them.
	Out io.Writer
}

// Cluster is a running local cluster. Stop it when done: its processes are not
// tied to the context given to Start.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig for an admin in system:masters.
	Kubeconfig string

	// Config connects to the API server as that admin.
	Config *rest.Config

	opts     Options
	env      *envtest.Environment
	children []*child
	logs     []*os.File
	stopped  bool
}

// Start brings up the control plane, the controllers, the scheduler and kwok,
// creates the fake nodes and returns once the API server is ready and every
// node is Ready. On failure it stops whatever it had started.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	o, err := o.normalise()
	if err != nil {
		return nil, err
	}

	c := &Cluster{opts: o}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Stop())
	}

	c.progress("cluster ready; KUBECONFIG=%s", c.Kubeconfig)
	return c, nil
}

// start runs the steps of Start in order, stopping at the first failure.
func (c *Cluster) start(ctx context.Context) error {
	if err := c.startControlPlane(ctx); err != nil {
		return err
	}

	if err := c.startComponents(ctx); err != nil {
		return err
	}

	return c.startNodes(ctx)
}

// Stop ends every process the cluster started, the last started first, then
// the API server and etcd. It is safe to call more than once.
func (c *Cluster) Stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true

	var errs []error
	for i := len(c.children) - 1; i >= 0; i-- {
		ch := c.children[i]
		if !ch.exited() {
			c.progress("stopping %s (pid %d)", ch.name, ch.cmd.Process.Pid)
		}
		errs = append(errs, ch.stop())
	}

	if c.env != nil {
		c.progress("stopping kube-apiserver and etcd")
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop control plane: %w", err))
		}
	}

	for _, f := range c.logs {
		_ = f.Close()
	}

	return errors.Join(errs...)
}

// clientset returns a typed client for the admin config.
func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}

	return cs, nil
}

// progress prints one line to Out.
func (c *Cluster) progress(format string, args ...any) {
	_, _ = fmt.Fprintf(c.opts.Out, "localcluster: "+format+"\n", args...)
}

// path returns a path inside the cluster's folder.
func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.opts.Dir}, elem...)...)
}

// normalise fills defaults, makes paths absolute and checks the binaries.
func (o Options) normalise() (Options, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}

	if o.Dir == "" || o.Nodes < 0 {
		return o, errors.New("local cluster options: Dir must be set and Nodes must not be negative")
	}

	for _, p := range []*string{&o.Dir, &o.AssetsDir, &o.KwokBinary, &o.KwokStages} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return o, fmt.Errorf("local cluster options: %w", err)
		}
		*p = abs
	}

	return o, o.checkFiles()
}

// checkFiles reports every binary or stage file that is missing.
func (o Options) checkFiles() error {
	want := []string{o.KwokBinary, o.KwokStages}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		want = append(want, filepath.Join(o.AssetsDir, name))
	}

	var errs []error
	for _, p := range want {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, err)
		}
	}

	if len(errs) > 0 {
		return fmt.Errorf("local cluster files missing (run hack/tools.sh control-plane kwok): %w",
			errors.Join(errs...))
	}

	return nil
}
