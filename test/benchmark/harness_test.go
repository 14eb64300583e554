// Package benchmark_test measures, through a real API server, what the
// operator's admission webhooks add to the requests they see. It holds only
// benchmarks, so `go test ./test/...` runs nothing here; `make bench` does.
package benchmark_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/controllers"
	"github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/serving"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

const (
	// webhookConfig is the ValidatingWebhookConfiguration config/webhook
	// generates and envtest installs.
	webhookConfig = "validating-webhook-configuration"
	// pinnedServer is the Deployment of the DashStream the harness creates.
	pinnedServer = "events-websocket-server"
	waitTimeout  = time.Minute
	pollInterval = 50 * time.Millisecond
)

// harness is an API server and etcd, with the operator's manager serving
// its webhooks in process, as controllers/suite_test.go runs them.
type harness struct {
	ctx context.Context
	cfg *rest.Config
	c   client.Client
	cs  kubernetes.Interface
	// ns holds the pinned DashStream, so the HPA webhook selects it.
	ns      string
	hooks   []admissionregistrationv1.ValidatingWebhook
	present bool
}

// startHarness starts envtest and the manager, and creates a pinned
// DashStream so that the HPA webhook selects the harness's namespace.
func startHarness(b *testing.B) *harness {
	b.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		b.Skip("KUBEBUILDER_ASSETS is unset: run `make bench`, or set it to what hack/tools.sh assets-dir prints")
	}
	logf.SetLogger(logr.Discard())

	env, cfg := startEnv(b)
	scheme, err := controllers.NewScheme()
	must(b, err, "build scheme")

	ctx := startManager(b, env, cfg, scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	must(b, err, "create client")

	h := &harness{ctx: ctx, cfg: cfg, c: c, ns: "bench"}
	newClientset(b, h)
	h.pinServer(b)
	h.saveWebhooks(b)

	return h
}

func startEnv(b *testing.B) (*envtest.Environment, *rest.Config) {
	root := filepath.Join("..", "..")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(root, "config", "webhook", "manifests.yaml")},
		},
	}

	cfg, err := env.Start()
	must(b, err, "start envtest")
	b.Cleanup(func() {
		if err := env.Stop(); err != nil {
			b.Errorf("stop envtest: %v", err)
		}
	})

	return env, cfg
}

// startManager runs the reconciler and the webhooks until the benchmark
// ends, configured as main.go configures them.
func startManager(b *testing.B, env *envtest.Environment, cfg *rest.Config, scheme *runtime.Scheme) context.Context {
	hooks := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: controllers.CacheByObject()},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: hooks.LocalServingHost, Port: hooks.LocalServingPort, CertDir: hooks.LocalServingCertDir,
			TLSOpts: serving.TLSOptions(false),
		}),
	})
	must(b, err, "create manager")

	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	operator, err := admission.WhoAmI(ctx, cfg)
	must(b, err, "find the operator's user name")
	admission.Register(mgr.GetWebhookServer(), mgr.GetScheme(), mgr.GetClient(), operator)

	r := &controllers.DashStreamReconciler{
		Client: mgr.GetClient(), Scheme: mgr.GetScheme(), Recorder: mgr.GetEventRecorder("dashstream-operator"),
	}
	must(b, r.SetupWithManager(mgr), "set up the reconciler")

	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("run manager: %v", err)
		}
	})

	return ctx
}

// pinServer creates a DashStream in mode None and waits until the operator
// has labelled its namespace and the HPA webhook denies an HPA aimed at it.
func (h *harness) pinServer(b *testing.B) {
	must(b, h.c.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}), "create namespace")
	must(b, h.c.Create(h.ctx, pinnedDashStream(h.ns)), "create DashStream")

	h.waitFor(b, "the operator to label namespace "+h.ns, func() (bool, error) {
		ns := &corev1.Namespace{}
		err := h.c.Get(h.ctx, client.ObjectKey{Name: h.ns}, ns)

		return ns.Labels[streamingv1alpha1.NamespaceLabel] == "true", err
	})

	h.present = true
	h.waitForWebhooks(b)
}

// saveWebhooks keeps the webhooks as envtest installed them, pointed at
// the manager's server, to restore them after each deletion.
func (h *harness) saveWebhooks(b *testing.B) {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	must(b, h.c.Get(h.ctx, client.ObjectKey{Name: webhookConfig}, vwc), "read the webhook configuration")

	h.hooks = vwc.Webhooks
}

// setWebhooks installs or deletes the webhook configuration and waits
// until the API server acts on the change.
func (h *harness) setWebhooks(b *testing.B, present bool) {
	if h.present == present {
		return
	}

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: webhookConfig}}
	if present {
		vwc.Webhooks = h.hooks
		must(b, h.c.Create(h.ctx, vwc), "install the webhook configuration")
	} else {
		must(b, h.c.Delete(h.ctx, vwc), "delete the webhook configuration")
	}

	h.present = present
	h.waitForWebhooks(b)
}

// waitForWebhooks waits until a dry run of an HPA aimed at the pinned
// server is denied when the webhooks are present, and admitted when not.
func (h *harness) waitForWebhooks(b *testing.B) {
	what := fmt.Sprintf("the API server to see the webhooks present=%v", h.present)
	h.waitFor(b, what, func() (bool, error) {
		probe := testobjects.HPAv2(h.ns, "probe", "apps/v1", "Deployment", pinnedServer)
		err := h.c.Create(h.ctx, probe, client.DryRunAll)
		if h.present {
			return apierrors.IsForbidden(err), err
		}

		return err == nil, err
	})
}

// waitFor polls done until it reports true; errors are kept to explain a
// timeout, as some are expected while the webhook server starts.
func (h *harness) waitFor(b *testing.B, what string, done func() (bool, error)) {
	b.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, err := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %v waiting for %s; last error: %v", waitTimeout, what, err)
		}
		time.Sleep(pollInterval)
	}
}

func pinnedDashStream(ns string) *streamingv1alpha1.DashStream {
	return &streamingv1alpha1.DashStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "events"},
		Spec: streamingv1alpha1.DashStreamSpec{
			Image: "ghcr.io/dashflow/websocket-server:1.8.2",
			Kafka: streamingv1alpha1.KafkaSpec{
				Brokers: []string{"kafka-0:9092"}, Topic: "events", GroupID: "websocket",
			},
		},
	}
}

func must(b *testing.B, err error, what string) {
	b.Helper()
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}
