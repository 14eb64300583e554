package benchmark_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/dashflow/dashstream-operator/internal/admission"
)

// hpaWebhook is the HPA webhook's name in config/webhook/manifests.yaml.
const hpaWebhook = "hpa.streaming.dashflow.io"

// webhookTime is where the time a webhook adds goes, as totals over the
// calls made between two readings: call is the API server's measure of
// each admitted call (TLS, HTTP and the handler), handler the webhook
// server's (decoding, deciding and encoding the reply). reconciles and
// deploymentChecks count the work HPA events set off meanwhile: an HPA
// aimed at a server's name is mapped to the DashStream of that name, which
// is reconciled if it exists, and its children re-applied, through the
// Deployment webhook when it is installed.
type webhookTime struct {
	call, handler                total
	reconciles, deploymentChecks total
}

// total is the sum and count of a histogram.
type total struct {
	sum   float64
	count uint64
}

func (t total) minus(o total) total {
	return total{sum: t.sum - o.sum, count: t.count - o.count}
}

func (t total) mean() time.Duration {
	if t.count == 0 {
		return 0
	}

	return time.Duration(t.sum / float64(t.count) * float64(time.Second))
}

func (w webhookTime) minus(o webhookTime) webhookTime {
	return webhookTime{
		call: w.call.minus(o.call), handler: w.handler.minus(o.handler),
		reconciles: w.reconciles.minus(o.reconciles), deploymentChecks: w.deploymentChecks.minus(o.deploymentChecks),
	}
}

// readWebhookTime reads the API server's and the manager's metrics now.
func (h *harness) readWebhookTime(b *testing.B) webhookTime {
	const latency = "controller_runtime_webhook_latency_seconds"

	return webhookTime{
		call:             h.apiServerCallTime(b),
		handler:          managerTotal(b, latency, admission.PathHPA),
		reconciles:       managerTotal(b, "controller_runtime_reconcile_total", "dashstream"),
		deploymentChecks: managerTotal(b, latency, admission.PathDeployment),
	}
}

// apiServerCallTime sums the API server's histogram of admitted calls to
// the HPA webhook; denied probes are left out.
func (h *harness) apiServerCallTime(b *testing.B) total {
	raw, err := h.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(h.ctx)
	must(b, err, "read the API server's metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	must(b, err, "parse the API server's metrics")

	var t total
	for _, m := range families["apiserver_admission_webhook_admission_duration_seconds"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["name"] == hpaWebhook && labels["rejected"] == "false" {
			t.sum += m.GetHistogram().GetSampleSum()
			t.count += m.GetHistogram().GetSampleCount()
		}
	}

	return t
}

// managerTotal sums the series of one of the manager's histograms or
// counters that carry label value (a webhook's path, a controller's name);
// a counter's value is counted as its count.
func managerTotal(b *testing.B, name, value string) total {
	families, err := metrics.Registry.Gather()
	must(b, err, "gather the manager's metrics")

	var t total
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			matches := false
			for _, l := range m.GetLabel() {
				matches = matches || l.GetValue() == value
			}
			if matches {
				t.sum += m.GetHistogram().GetSampleSum()
				t.count += m.GetHistogram().GetSampleCount() + uint64(m.GetCounter().GetValue())
			}
		}
	}

	return t
}

func newClientset(b *testing.B, h *harness) {
	cs, err := kubernetes.NewForConfig(h.cfg)
	must(b, err, "create clientset")

	h.cs = cs
}

func (w webhookTime) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "mean HPA webhook call, as the API server times it: %v over %d calls\n",
		w.call.mean().Round(time.Microsecond), w.call.count)
	fmt.Fprintf(&s, "mean HPA webhook request, as the webhook server times it: %v over %d requests\n",
		w.handler.mean().Round(time.Microsecond), w.handler.count)
	fmt.Fprintf(&s, "meanwhile: %d DashStream reconciles, %d Deployment webhook requests (mean %v)\n",
		w.reconciles.count, w.deploymentChecks.count, w.deploymentChecks.mean().Round(time.Microsecond))

	return s.String()
}
