package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/serving"
	"github.com/dashflow/dashstream-operator/internal/webhookcert"
)

// webhookOptions configure the admission webhook server and its
// certificate.
type webhookOptions struct {
	enabled       bool
	port          int
	certDir       string
	rotate        bool
	certFromFiles bool
	namespace     string
	secret        string
	service       string
	dnsNames      stringList
	configuration string
	// http2 offers HTTP/2 as well as HTTP/1.1 (--enable-http2).
	http2 bool
}

func (w *webhookOptions) bindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&w.enabled, "webhooks", true, "Serve the admission webhooks.")
	fs.IntVar(&w.port, "webhook-port", webhook.DefaultPort, "Port of the admission webhook server.")
	fs.StringVar(&w.certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs",
		"Folder of the webhook server's tls.crt and tls.key.")
	fs.BoolVar(&w.rotate, "webhook-cert-rotation", true,
		"Issue and renew the webhook certificate in --webhook-cert-secret and patch its CA into "+
			"--webhook-configuration. Turn off when cert-manager provides the certificate.")
	fs.BoolVar(&w.certFromFiles, "webhook-cert-from-secret", false,
		"Copy --webhook-cert-secret into --webhook-cert-dir, for a manager running outside the cluster "+
			"where no kubelet mounts the Secret.")
	fs.StringVar(&w.namespace, "namespace", envOr("POD_NAMESPACE", "dashstream-system"),
		"Namespace of the operator's webhook Service and certificate Secret.")
	fs.StringVar(&w.secret, "webhook-cert-secret", "dashstream-webhook-server-cert",
		"Secret that holds the webhook certificate.")
	fs.StringVar(&w.service, "webhook-service", "dashstream-webhook-service",
		"Service the API server reaches the webhooks through; the certificate is issued for it.")
	fs.Var(&w.dnsNames, "webhook-dns-name",
		"Name to issue the webhook certificate for instead of the Service's names; repeatable.")
	fs.StringVar(&w.configuration, "webhook-configuration", "dashstream-validating-webhook-configuration",
		"ValidatingWebhookConfiguration that receives the certificate's CA.")
}

// names returns the DNS names of the serving certificate.
func (w *webhookOptions) names() []string {
	if len(w.dnsNames) > 0 {
		return w.dnsNames
	}

	svc := w.service + "." + w.namespace + ".svc"

	return []string{svc, svc + ".cluster.local"}
}

// setupWebhooks serves the admission webhooks once their certificate is in
// place, and reports readiness only from then on.
func setupWebhooks(mgr ctrl.Manager, w webhookOptions) error {
	if !w.enabled {
		return nil
	}

	operator, err := admission.WhoAmI(context.Background(), mgr.GetConfig())
	if err != nil {
		return err
	}

	ready, err := certificateReady(mgr, w)
	if err != nil {
		return err
	}

	if err := warmInformers(mgr); err != nil {
		return err
	}

	srv := webhook.NewServer(webhook.Options{
		Port:    w.port,
		CertDir: w.certDir,
		TLSOpts: serving.TLSOptions(w.http2),
	})
	admission.Register(srv, mgr.GetScheme(), mgr.GetClient(), operator)

	// The server starts only once its files exist: it reads them at start.
	if err := mgr.Add(afterReady(ready, srv)); err != nil {
		return fmt.Errorf("add webhook server: %w", err)
	}

	trusted := &handshake{reader: mgr.GetAPIReader(), configuration: w.configuration,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(w.port)), serverName: w.names()[0]}

	return mgr.AddReadyzCheck("webhooks", readyChecker(ready, srv, trusted.check))
}

// warmInformers starts, with the cache, the informers the handlers read.
// The controller would start them only on the leader; without this, the
// first request to another replica would wait for a full list of every
// HPA in the cluster, and could pass its timeout.
func warmInformers(mgr ctrl.Manager) error {
	for _, obj := range []client.Object{&streamingv1alpha1.DashStream{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
		if _, err := mgr.GetCache().GetInformer(context.Background(), obj); err != nil {
			return fmt.Errorf("start the %T informer for the webhooks: %w", obj, err)
		}
	}

	return nil
}

// certificateReady starts what provides the certificate and returns a
// channel closed once it is usable.
func certificateReady(mgr ctrl.Manager, w webhookOptions) (chan struct{}, error) {
	ready := make(chan struct{})
	secret := types.NamespacedName{Namespace: w.namespace, Name: w.secret}
	if w.certFromFiles {
		files := &webhookcert.SecretFiles{Reader: mgr.GetAPIReader(), Secret: secret, Dir: w.certDir,
			Interval: 2 * time.Second}
		if !w.rotate {
			// Only the copy says when the files are there.
			files.Copied = ready
		}
		if err := mgr.Add(files); err != nil {
			return nil, fmt.Errorf("add webhook certificate copier: %w", err)
		}
	}

	switch {
	case w.rotate:
		return ready, webhookcert.AddRotator(mgr, webhookcert.Options{
			Secret:               secret,
			DNSNames:             w.names(),
			CertDir:              w.certDir,
			WebhookConfiguration: w.configuration,
			CheckInterval:        time.Minute,
		}, ready)
	case !w.certFromFiles:
		// cert-manager's Secret, mounted by the kubelet.
		close(ready)
	}

	return ready, nil
}

// afterReady starts srv once ready is closed.
func afterReady(ready <-chan struct{}, srv webhook.Server) webhookRunnable {
	return webhookRunnable{ready: ready, srv: srv}
}

// webhookRunnable is the webhook server, held back until its certificate
// is ready. Like the server itself it runs on every replica.
type webhookRunnable struct {
	ready <-chan struct{}
	srv   webhook.Server
}

// Start waits for the certificate, then serves until ctx ends.
func (r webhookRunnable) Start(ctx context.Context) error {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return nil
	}

	ctrl.Log.Info("Serving admission webhooks")

	return r.srv.Start(ctx)
}

// NeedLeaderElection is false: every replica answers the API server.
func (webhookRunnable) NeedLeaderElection() bool {
	return false
}

// readyChecker fails until the certificate is ready, the server serves,
// and a client that trusts the webhook configuration's CA bundle, as the
// API server does, completes a TLS handshake with it.
func readyChecker(ready <-chan struct{}, srv webhook.Server, trusted func(context.Context) error) healthz.Checker {
	return func(req *http.Request) error {
		select {
		case <-ready:
		default:
			return errors.New("webhook certificate not ready yet")
		}

		if err := srv.StartedChecker()(req); err != nil {
			return err
		}

		return trusted(req.Context())
	}
}

// handshake checks the webhook server the way the API server reaches it.
type handshake struct {
	reader        client.Reader
	configuration string
	addr          string
	serverName    string
}

// check dials the webhook server trusting only the CA bundle of the
// webhook configuration. It fails while the server still presents a
// certificate that bundle does not sign, such as an expired one left in the
// folder before a renewal reached it.
func (h *handshake) check(ctx context.Context) error {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := h.reader.Get(ctx, client.ObjectKey{Name: h.configuration}, vwc); err != nil {
		return fmt.Errorf("read webhook configuration %s: %w", h.configuration, err)
	}

	pool := x509.NewCertPool()
	if len(vwc.Webhooks) == 0 || !pool.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
		return fmt.Errorf("webhook configuration %s has no CA bundle yet", h.configuration)
	}

	dialer := &tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: h.serverName, MinVersion: tls.VersionTLS12}}
	conn, err := dialer.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return fmt.Errorf("TLS handshake with the webhook server as the API server makes it: %w", err)
	}

	return conn.Close()
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}

	return def
}

// stringList is a flag that may be given several times.
type stringList []string

// String joins the values with commas.
func (l *stringList) String() string {
	return strings.Join(*l, ",")
}

// Set adds one value.
func (l *stringList) Set(v string) error {
	*l = append(*l, v)

	return nil
}
