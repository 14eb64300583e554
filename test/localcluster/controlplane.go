package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// serviceCIDR is the range Service cluster IPs come from. It is kept apart
// from kwok's pod range so the two never look alike in test output.
const serviceCIDR = "10.96.0.0/16"

// startControlPlane starts etcd and kube-apiserver through envtest, writes
// the admin kubeconfig and waits for /readyz.
func (c *Cluster) startControlPlane(ctx context.Context) error {
	if err := c.resetDir(); err != nil {
		return err
	}

	env, err := c.newEnvironment()
	if err != nil {
		return err
	}

	c.progress("starting etcd and kube-apiserver")
	c.env = env
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("start control plane: %w\n%s", err, c.controlPlaneLogTails())
	}

	if err := c.writeAdminKubeconfig(); err != nil {
		return err
	}

	return c.waitAPIServerReady(ctx)
}

// resetDir removes state from an earlier cluster and makes the folders.
func (c *Cluster) resetDir() error {
	for _, d := range []string{"pki", "etcd", "logs"} {
		if err := os.RemoveAll(c.path(d)); err != nil {
			return fmt.Errorf("clean %s: %w", c.path(d), err)
		}
	}
	_ = os.Remove(c.path("kubeconfig"))

	if err := os.MkdirAll(c.path("logs"), 0o755); err != nil {
		return fmt.Errorf("create log folder: %w", err)
	}

	return os.MkdirAll(c.path("pki"), 0o700)
}

// newEnvironment configures envtest with explicit binary paths (so that
// KUBEBUILDER_ASSETS cannot swap them) and logs under Dir.
func (c *Cluster) newEnvironment() (*envtest.Environment, error) {
	etcdLog, err := createLog(c.path("logs", "etcd.log"))
	if err != nil {
		return nil, err
	}
	c.logs = append(c.logs, etcdLog)

	apiLog, err := createLog(c.path("logs", "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	c.logs = append(c.logs, apiLog)

	env := &envtest.Environment{
		BinaryAssetsDirectory:    c.opts.AssetsDir,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  10 * time.Second,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{
		Path: filepath.Join(c.opts.AssetsDir, "etcd"), DataDir: c.path("etcd"), Out: etcdLog, Err: etcdLog,
	}
	env.ControlPlane.APIServer = &envtest.APIServer{
		Path: filepath.Join(c.opts.AssetsDir, "kube-apiserver"), CertDir: c.path("pki"), Out: apiLog, Err: apiLog,
	}
	env.ControlPlane.KubectlPath = filepath.Join(c.opts.AssetsDir, "kubectl")
	configureAPIServer(env)

	return env, nil
}

// configureAPIServer turns envtest's test-only API server into one that
// serves nodes, controllers and service accounts like a real cluster.
func configureAPIServer(env *envtest.Environment) {
	args := env.ControlPlane.GetAPIServer().Configure()
	args.Set("authorization-mode", "Node,RBAC")
	args.Set("service-cluster-ip-range", serviceCIDR)
	// envtest disables the ServiceAccount admission plugin because it runs no
	// controller-manager; this cluster does, so pods get their tokens.
	args.Disable("disable-admission-plugins")
}

// writeAdminKubeconfig adds a system:masters user, writes its kubeconfig to
// Dir and the API server's serving CA next to the certificates.
func (c *Cluster) writeAdminKubeconfig() error {
	user, err := c.env.AddUser(envtest.User{Name: "localcluster-admin", Groups: []string{"system:masters"}},
		&rest.Config{QPS: 100, Burst: 200})
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}

	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("render admin kubeconfig: %w", err)
	}

	c.Kubeconfig = c.path("kubeconfig")
	c.Config = user.Config()
	if err := os.WriteFile(c.Kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("write admin kubeconfig: %w", err)
	}

	if err := os.WriteFile(c.caFile(), c.Config.CAData, 0o600); err != nil {
		return fmt.Errorf("write API server CA: %w", err)
	}

	return nil
}

// waitAPIServerReady polls /readyz until it answers ok.
func (c *Cluster) waitAPIServerReady(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}

	err = poll(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("wait for kube-apiserver /readyz: %w", err)
	}

	if err != nil {
		return fmt.Errorf("wait for kube-apiserver /readyz: %w\n%s", err, c.controlPlaneLogTails())
	}

	c.progress("kube-apiserver ready at %s", c.Config.Host)
	return nil
}

// controlPlaneLogTails returns the last lines of the etcd and API server logs.
func (c *Cluster) controlPlaneLogTails() string {
	return logTail("etcd", c.path("logs", "etcd.log")) + "\n" +
		logTail("kube-apiserver", c.path("logs", "kube-apiserver.log"))
}

// LogTails returns the last lines of every component's log, for a test to
// print when it fails.
func (c *Cluster) LogTails() string {
	var tails []string
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		tails = append(tails, logTail(name, c.path("logs", name+".log")))
	}

	return strings.Join(tails, "\n")
}

// saKeyFile is the key envtest gives the API server for signing tokens.
func (c *Cluster) saKeyFile() string {
	return c.path("pki", "sa-signer.key")
}

// caFile is the CA that signed the API server's serving certificate.
func (c *Cluster) caFile() string {
	return c.path("pki", "apiserver-ca.crt")
}
