package benchmark_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

const (
	// rounds of batchSize creates each way; within a round the two batches
	// run in turn, and which goes first alternates from round to round.
	rounds    = 10
	batchSize = 50
	// warmup creates, each way, open connections and fill caches first.
	warmup = 20
	// unrelated is a Deployment no DashStream could pin: the API server's
	// match condition admits HPAs aimed at it without calling the webhook.
	unrelated = "checkout"
	// spareServer is named as a DashStream's server is, but no DashStream
	// pins it: the webhook is called, decides, and admits.
	spareServer = "spare-websocket-server"
)

// BenchmarkHPACreateLatency times HPA creates through the API server with
// the operator's webhooks installed and with their configuration deleted,
// in interleaved batches so that machine noise falls on both alike, and
// reports percentiles of each and their ratio. It runs once whatever b.N
// is (use -benchtime 1x); ns/op is the p50 with the webhooks. It asserts
// no timing: these machines are shared.
//
// It measures in the pinned DashStream's namespace, where the HPA webhook
// applies, with HPAs of two targets: an unrelated Deployment, as most
// autoscalers in a cluster are, and a Deployment named as a server is,
// for which the webhook is called.
func BenchmarkHPACreateLatency(b *testing.B) {
	h := startHarness(b)

	b.Run("target=unrelated", func(b *testing.B) { h.benchmark(b, unrelated) })
	b.Run("target=server-name", func(b *testing.B) { h.benchmark(b, spareServer) })
}

func (h *harness) benchmark(b *testing.B, target string) {
	with, without, spent := h.measure(b, target)

	w, wo := summarize(with), summarize(without)
	b.ReportMetric(float64(w.p50.Nanoseconds()), "ns/op")
	for _, m := range []struct {
		unit string
		v    time.Duration
	}{
		{"p50-webhook-us", w.p50}, {"p90-webhook-us", w.p90}, {"p99-webhook-us", w.p99},
		{"p50-baseline-us", wo.p50}, {"p90-baseline-us", wo.p90}, {"p99-baseline-us", wo.p99},
		{"webhook-call-mean-us", spent.call.mean()}, {"handler-mean-us", spent.handler.mean()},
	} {
		b.ReportMetric(float64(m.v.Microseconds()), m.unit)
	}
	b.ReportMetric(ratio(w.p50, wo.p50), "p50-ratio")
	b.ReportMetric(ratio(w.p90, wo.p90), "p90-ratio")
	b.ReportMetric(ratio(w.p99, wo.p99), "p99-ratio")

	b.ReportMetric(float64(spent.call.count), "webhook-calls")
	b.Log("\nHPAs aimed at " + target + ": " + table(w, wo) + spent.String())
}

// measure runs the warm-up, then the rounds, and returns every create's
// latency with the webhooks and without, and where the webhook's time went.
func (h *harness) measure(b *testing.B, target string) (with, without []time.Duration, spent webhookTime) {
	h.setWebhooks(b, true)
	h.createBatch(b, target, "warm-webhook", warmup)
	h.setWebhooks(b, false)
	h.createBatch(b, target, "warm-baseline", warmup)
	before := h.readWebhookTime(b)

	for round := range rounds {
		order := []bool{false, true}
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, present := range order {
			h.setWebhooks(b, present)
			d := h.createBatch(b, target, fmt.Sprintf("r%d-%v", round, present), batchSize)
			if present {
				with = append(with, d...)
			} else {
				without = append(without, d...)
			}
		}
	}

	return with, without, h.readWebhookTime(b).minus(before)
}

// createBatch creates n HPAs aimed at target in the DashStream's namespace,
// timing each create alone, then deletes them all, untimed.
func (h *harness) createBatch(b *testing.B, target, prefix string, n int) []time.Duration {
	latencies := make([]time.Duration, 0, n)
	for i := range n {
		hpa := testobjects.HPAv2(h.ns, fmt.Sprintf("%s-%d", prefix, i), "apps/v1", "Deployment", target)
		start := time.Now()
		err := h.c.Create(h.ctx, hpa)
		latencies = append(latencies, time.Since(start))
		must(b, err, "create HPA "+hpa.Name)
	}

	err := h.c.DeleteAllOf(h.ctx, &autoscalingv2.HorizontalPodAutoscaler{}, client.InNamespace(h.ns))
	must(b, err, "delete the batch's HPAs")

	return latencies
}

// summary holds percentiles of one set of latencies.
type summary struct {
	n                   int
	p50, p90, p99, mean time.Duration
}

func summarize(d []time.Duration) summary {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	var total time.Duration
	for _, v := range sorted {
		total += v
	}

	return summary{
		n: len(sorted), p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99),
		mean: total / time.Duration(max(len(sorted), 1)),
	}
}

// percentile is the nearest-rank percentile p of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100

	return sorted[max(rank, 1)-1]
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}

	return float64(a) / float64(b)
}

func table(w, wo summary) string {
	var s strings.Builder
	fmt.Fprintf(&s, "HPA create latency, %d rounds of %d creates each way, interleaved\n", rounds, batchSize)
	fmt.Fprintf(&s, "%-18s %6s %10s %10s %10s %10s\n", "", "n", "p50", "p90", "p99", "mean")
	row := func(name string, x summary) {
		fmt.Fprintf(&s, "%-18s %6d %10v %10v %10v %10v\n", name, x.n, x.p50.Round(time.Microsecond),
			x.p90.Round(time.Microsecond), x.p99.Round(time.Microsecond), x.mean.Round(time.Microsecond))
	}
	row("without webhooks", wo)
	row("with webhooks", w)
	fmt.Fprintf(&s, "%-18s %6s %10.2f %10.2f %10.2f %10.2f\n", "ratio", "", ratio(w.p50, wo.p50),
		ratio(w.p90, wo.p90), ratio(w.p99, wo.p99), ratio(w.mean, wo.mean))

	return s.String()
}
