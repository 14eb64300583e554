package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The names config/default gives the operator's objects.
const (
	// OperatorNamespace is where the operator's own objects live.
	OperatorNamespace = "dashstream-system"
	// OperatorServiceAccount is the identity the operator runs as.
	OperatorServiceAccount = "dashstream-controller-manager"
	// WebhookCertSecret holds the webhook certificate the operator issues.
	WebhookCertSecret = "dashstream-webhook-server-cert"
	// WebhookConfiguration is the operator's ValidatingWebhookConfiguration.
	WebhookConfiguration = "dashstream-validating-webhook-configuration"
)

// OperatorOptions say where the repository is and where the operator,
// running on this machine instead of in a pod, serves its webhooks.
type OperatorOptions struct {
	// Root is the repository: config/ and bin/kustomize are read from it.
	Root string
	// Dir receives the operator's kubeconfig and webhook certificate files.
	Dir string
	// WebhookPort is the loopback port of the webhook server; zero picks one.
	WebhookPort int
	// ProbePort is the loopback port of /healthz and /readyz; zero picks one.
	ProbePort int
}

// Operator is an installed operator, ready for bin/manager to run.
type Operator struct {
	// Kubeconfig authenticates as the operator's service account, so the
	// operator has exactly the RBAC config/rbac grants it.
	Kubeconfig string
	// Args are the manager's flags for running outside the cluster.
	Args []string
	// ReadyURL answers 200 once the manager, webhooks included, is ready.
	ReadyURL string
	// WebhookAddr is where the API server calls the webhooks, as host:port;
	// their certificate is issued for localhost.
	WebhookAddr string
}

// InstallOperator installs what `make deploy` would (config/default), except
// the manager's Deployment and the webhook Service: the manager runs on this
// machine, where kwok's pods cannot run it, and the API server reaches its
// webhooks at https://localhost. It returns how to run the manager.
func InstallOperator(ctx context.Context, admin *rest.Config, o OperatorOptions) (*Operator, error) {
	if err := o.pickPorts(); err != nil {
		return nil, err
	}

	objs, err := o.manifests()
	if err != nil {
		return nil, err
	}

	if err := applyAll(ctx, admin, objs); err != nil {
		return nil, err
	}

	kubeconfig, err := o.writeServiceAccountKubeconfig(ctx, admin)
	if err != nil {
		return nil, err
	}

	// Files of an earlier run belong to a CA this cluster never saw.
	if err := os.RemoveAll(o.certDir()); err != nil {
		return nil, fmt.Errorf("remove old webhook certificates: %w", err)
	}

	return &Operator{
		Kubeconfig: kubeconfig, Args: o.managerArgs(), ReadyURL: o.readyURL(),
		WebhookAddr: net.JoinHostPort("localhost", strconv.Itoa(o.WebhookPort)),
	}, nil
}

// Command returns the manager process for the operator, logging to out.
// Like the cluster's processes it has a process group of its own, so a
// Ctrl-C reaches only whoever started it, which then stops it with one
// signal (a second would make the manager exit at once, uncleanly).
func (op *Operator) Command(manager string, out io.Writer, extraArgs ...string) *exec.Cmd {
	cmd := exec.Command(manager, append(append([]string{}, op.Args...), extraArgs...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+op.Kubeconfig, "POD_NAMESPACE="+OperatorNamespace)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	return cmd
}

func (o *OperatorOptions) pickPorts() error {
	for _, p := range []*int{&o.WebhookPort, &o.ProbePort} {
		if *p != 0 {
			continue
		}

		port, err := freePort()
		if err != nil {
			return err
		}
		*p = port
	}

	return nil
}

func (o *OperatorOptions) managerArgs() []string {
	return []string{
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(o.ProbePort),
		"--webhook-port=" + strconv.Itoa(o.WebhookPort),
		"--webhook-cert-dir=" + o.certDir(),
		"--webhook-cert-from-secret",
		"--webhook-dns-name=localhost",
	}
}

func (o *OperatorOptions) certDir() string {
	return filepath.Join(o.Dir, "webhook-certs")
}

func (o *OperatorOptions) readyURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(o.ProbePort) + "/readyz"
}

// manifests builds config/default and adapts it to a manager outside the
// cluster.
func (o *OperatorOptions) manifests() ([]*unstructured.Unstructured, error) {
	out, err := exec.Command(filepath.Join(o.Root, "bin", "kustomize"), "build",
		filepath.Join(o.Root, "config", "default")).Output()
	if err != nil {
		return nil, fmt.Errorf("kustomize build config/default: %w", commandError(err))
	}

	all, err := DecodeManifests(out)
	if err != nil {
		return nil, err
	}

	var keep []*unstructured.Unstructured
	for _, u := range all {
		switch {
		case u.GetKind() == "Deployment", u.GetKind() == "Service" && u.GetName() == "dashstream-webhook-service":
			continue
		case u.GetKind() == "ValidatingWebhookConfiguration":
			if err := o.pointWebhooksAtLocalhost(u); err != nil {
				return nil, err
			}
		}
		keep = append(keep, u)
	}

	return keep, nil
}

// pointWebhooksAtLocalhost replaces each webhook's Service with a URL on
// the local webhook port, keeping its path.
func (o *OperatorOptions) pointWebhooksAtLocalhost(vwc *unstructured.Unstructured) error {
	hooks, _, err := unstructured.NestedSlice(vwc.Object, "webhooks")
	if err != nil {
		return fmt.Errorf("read webhooks: %w", err)
	}

	for i, h := range hooks {
		hook := h.(map[string]any)
		path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
		hook["clientConfig"] = map[string]any{
			"url": "https://localhost:" + strconv.Itoa(o.WebhookPort) + path,
		}
		hooks[i] = hook
	}

	return unstructured.SetNestedSlice(vwc.Object, hooks, "webhooks")
}

// writeServiceAccountKubeconfig writes a kubeconfig holding a token of the
// operator's service account.
func (o *OperatorOptions) writeServiceAccountKubeconfig(ctx context.Context, admin *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return "", fmt.Errorf("create client: %w", err)
	}

	tr, err := cs.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, OperatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To[int64](24 * 3600),
		}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("issue a token for the operator's service account: %w", err)
	}

	path := filepath.Join(o.Dir, "operator.kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	cfg.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["operator"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "operator"}
	cfg.CurrentContext = "operator"

	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", o.Dir, err)
	}

	return path, clientcmd.WriteToFile(*cfg, path)
}

// DecodeManifests splits a YAML stream, such as kustomize's output, into
// objects.
func DecodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)

	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode manifests: %w", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// applyAll applies objects in order with server-side apply.
func applyAll(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}

	for _, u := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("localcluster"),
			client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}

	return nil
}

// commandError adds a failed command's stderr to its error.
func commandError(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(exit.Stderr))
	}

	return err
}
