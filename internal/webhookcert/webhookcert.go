// Package webhookcert gives the admission webhook server a certificate
// without any other tool: cert-controller issues a CA and a serving
// certificate into a Secret, renews them before they expire, and patches
// the CA into the operator's ValidatingWebhookConfiguration. The webhook
// server reloads the files when they change, so a renewal needs no restart.
package webhookcert

import (
	"fmt"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",namespace=dashstream-system,resources=secrets,verbs=get;list;watch;update;patch

// Options say which Secret holds the certificate, for which names it is
// issued and which webhook configuration trusts it.
type Options struct {
	// Secret holds ca.crt, ca.key, tls.crt and tls.key. It must exist; the
	// shipped manifests create it empty.
	Secret types.NamespacedName
	// DNSNames are the names the serving certificate is issued for; the
	// first is its common name.
	DNSNames []string
	// CertDir is where the webhook server reads tls.crt and tls.key.
	CertDir string
	// WebhookConfiguration is the ValidatingWebhookConfiguration that
	// receives the CA bundle.
	WebhookConfiguration string
	// CheckInterval is how often the certificate's expiry is checked.
	CheckInterval time.Duration
}

// AddRotator adds certificate issuance and rotation to mgr. ready is
// closed once the certificate is in CertDir and cert-controller has tried to
// patch the CA into the webhook configuration, which is when the webhook
// server may start. Whether the API server can trust the server is what the
// manager's readiness check tests, with a TLS handshake.
func AddRotator(mgr ctrl.Manager, o Options, ready chan struct{}) error {
	if len(o.DNSNames) == 0 {
		return fmt.Errorf("webhook certificate: at least one DNS name is needed")
	}

	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:              o.Secret,
		CertDir:                o.CertDir,
		CAName:                 "dashstream-operator-ca",
		CAOrganization:         "dashstream-operator",
		DNSName:                o.DNSNames[0],
		ExtraDNSNames:          o.DNSNames[1:],
		IsReady:                ready,
		RotationCheckFrequency: o.CheckInterval,
		Webhooks: []rotator.WebhookInfo{{
			Name: o.WebhookConfiguration,
			Type: rotator.Validating,
		}},
		// Every replica serves webhooks, so every replica needs the files;
		// they all read the one Secret.
		RequireLeaderElection: false,
		FieldOwner:            "dashstream-operator-cert-rotator",
	})
	if err != nil {
		return fmt.Errorf("add webhook certificate rotator: %w", err)
	}

	return nil
}
