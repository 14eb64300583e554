package controllers_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/dashflow/dashstream-operator/controllers"
	"github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/serving"
)

// resyncPeriod is short so that the idle test sees the operator resync
// many times and can prove those resyncs write nothing.
const resyncPeriod = 5 * time.Second

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme
	ctx       context.Context
	cancel    context.CancelFunc
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "DashStream controller (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	var err error
	scheme, err = controllers.NewScheme()
	Expect(err).NotTo(HaveOccurred())

	// The PrometheusRule CRD is deliberately not installed here: a test
	// installs it later to prove the operator picks it up without a restart.
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// On a loaded machine the API server may take longer than envtest's
		// default 20 s to drain its requests and stop.
		ControlPlaneStopTimeout: time.Minute,
		// The generated webhook configuration, pointed by envtest at the
		// manager's webhook server below with a certificate of its own.
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join("..", "config", "webhook", "manifests.yaml")},
		},
	}

	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run through `make test`, which builds the control plane")

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	startManager()
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})

// startManager runs the operator's reconciler and admission webhooks
// in-process, configured as main.go configures them, against the envtest
// API server.
func startManager() {
	sync := resyncPeriod
	hooks := testEnv.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: controllers.CacheByObject(), SyncPeriod: &sync},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: hooks.LocalServingHost, Port: hooks.LocalServingPort, CertDir: hooks.LocalServingCertDir,
			TLSOpts: serving.TLSOptions(false),
		}),
	})
	Expect(err).NotTo(HaveOccurred())

	operator, err := admission.WhoAmI(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	admission.Register(mgr.GetWebhookServer(), mgr.GetScheme(), mgr.GetClient(), operator)

	r := &controllers.DashStreamReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("dashstream-operator"),
	}
	Expect(r.SetupWithManager(mgr)).To(Succeed())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
}
