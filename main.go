// Command manager runs the DashStream operator: the DashStream controller,
// the admission webhooks and their certificate, metrics and health
// endpoints, and leader election.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/dashflow/dashstream-operator/controllers"
	"github.com/dashflow/dashstream-operator/internal/serving"
)

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

type options struct {
	metricsAddr   string
	probeAddr     string
	secureMetrics bool
	leaderElect   bool
	enableHTTP2   bool
	webhooks      webhookOptions
	zap           zap.Options
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address of the metrics endpoint; 0 turns it off.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, to callers authenticated and authorized by the API server.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader, so only one of several manager replicas reconciles.")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Offer HTTP/2 on the webhook and metrics servers; off by default for HTTP/2's denial-of-service flaws.")
	o.webhooks.bindFlags(flag.CommandLine)
	o.zap.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	if err := run(o); err != nil {
		ctrl.Log.Error(err, "Manager stopped")
		os.Exit(1)
	}
}

func run(o options) error {
	scheme, err := controllers.NewScheme()
	if err != nil {
		return err
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOptions(o),
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "dashstream-operator.streaming.dashflow.io",
		Cache:                  cacheOptions(),
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	r := &controllers.DashStreamReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("dashstream-operator"),
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}

	if err := controllers.RegisterDashStreamMetrics(mgr.GetCache()); err != nil {
		return err
	}

	o.webhooks.http2 = o.enableHTTP2
	if err := setupWebhooks(mgr, o.webhooks); err != nil {
		return err
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}

	ctrl.Log.Info("Starting manager")

	return mgr.Start(ctrl.SetupSignalHandler())
}

// cacheOptions keeps in memory only the children the operator manages, not
// every Deployment, Service or PDB in the cluster.
func cacheOptions() cache.Options {
	return cache.Options{ByObject: controllers.CacheByObject()}
}

// metricsOptions serves metrics over HTTPS behind the API server's
// authentication and authorization, as the kubebuilder scaffold does.
func metricsOptions(o options) metricsserver.Options {
	opts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       serving.TLSOptions(o.enableHTTP2),
	}
	if o.secureMetrics {
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	return opts
}
