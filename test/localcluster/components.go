package localcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// componentTimeout bounds how long a component may take to report healthy.
const componentTimeout = 2 * time.Minute

// component is a child to start and the URL that answers once it is healthy.
type component struct {
	name   string
	path   string
	args   []string
	health string
}

// startComponents starts kube-controller-manager, kube-scheduler and kwok,
// then waits until each answers its health check.
func (c *Cluster) startComponents(ctx context.Context) error {
	comps, err := c.components()
	if err != nil {
		return err
	}

	started := make([]*child, 0, len(comps))
	for _, comp := range comps {
		ch, err := c.startChild(comp.name, comp.path, comp.args...)
		if err != nil {
			return err
		}
		started = append(started, ch)
	}

	for i, comp := range comps {
		if err := waitHealthy(ctx, started[i], comp.health); err != nil {
			return err
		}
		c.progress("%s healthy", comp.name)
	}

	return nil
}

// components lists the children with their flags, each on its own free port.
func (c *Cluster) components() ([]component, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}

	return []component{
		c.controllerManager(ports[0]),
		c.scheduler(ports[1]),
		c.kwok(ports[2]),
	}, nil
}

// controllerManager runs every default controller (deployment, replicaset,
// garbage collector, disruption, HPA, namespace, service account, ...),
// each under its own service account as in a real cluster.
func (c *Cluster) controllerManager(port int) component {
	args := append(c.kubeconfigArgs(port),
		"--service-account-private-key-file="+c.saKeyFile(),
		"--root-ca-file="+c.caFile(),
		"--use-service-account-credentials=true",
		"--service-cluster-ip-range="+serviceCIDR,
		"--cert-dir="+c.path("pki", "kube-controller-manager"),
	)

	return component{
		name:   "kube-controller-manager",
		path:   filepath.Join(c.opts.AssetsDir, "kube-controller-manager"),
		args:   args,
		health: "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz",
	}
}

// scheduler places pods on the fake nodes.
func (c *Cluster) scheduler(port int) component {
	args := append(c.kubeconfigArgs(port), "--cert-dir="+c.path("pki", "kube-scheduler"))

	return component{
		name:   "kube-scheduler",
		path:   filepath.Join(c.opts.AssetsDir, "kube-scheduler"),
		args:   args,
		health: "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz",
	}
}

// kubeconfigArgs are the flags kube-controller-manager and kube-scheduler
// share: the admin kubeconfig for everything, no leader election, and a
// secure port on loopback. The API server has no front-proxy (request
// header) CA, so looking one up would only log an error every few seconds.
func (c *Cluster) kubeconfigArgs(port int) []string {
	return []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--authentication-skip-lookup=true",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--v=1",
	}
}

// kwok simulates every node and the pods bound to them. Its server (health
// checks, and the kubelet endpoint the nodes advertise) listens on loopback;
// without --server-address it would take the fixed port 10250 or none.
func (c *Cluster) kwok(port int) component {
	addr := "127.0.0.1:" + strconv.Itoa(port)

	return component{
		name: "kwok",
		path: c.opts.KwokBinary,
		args: []string{
			"--kubeconfig=" + c.Kubeconfig,
			"--manage-all-nodes=true",
			"--config=" + c.opts.KwokStages,
			"--server-address=" + addr,
			"--node-ip=127.0.0.1",
			"--node-port=" + strconv.Itoa(port),
			"--cidr=10.244.0.0/16",
		},
		health: "http://" + addr + "/healthz",
	}
}

// waitHealthy polls url until it answers 200, failing early if ch exits.
func waitHealthy(ctx context.Context, ch *child, url string) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// The components serve self-signed certificates on loopback.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	defer client.CloseIdleConnections()

	err := poll(ctx, componentTimeout, func(ctx context.Context) (bool, error) {
		if ch.exited() {
			return false, errors.New("exited before becoming healthy")
		}
		return healthy(ctx, client, url), nil
	})
	if err != nil {
		return ch.failure("wait for", err)
	}

	return nil
}

// healthy tells whether a GET of url answers 200.
func healthy(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}

	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()

	return resp.StatusCode == http.StatusOK
}
