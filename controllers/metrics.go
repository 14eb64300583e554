package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
)

// driftCorrections counts changes made outside a DashStream that the
// operator reverted, by what was changed.
var driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "dashstream_drift_corrections_total",
	Help: "Changes made to DashStream children outside the DashStream and reverted by the operator, by field.",
}, []string{"field"})

func init() {
	metrics.Registry.MustRegister(driftCorrections)
}

// scrapeListTimeout bounds the cache read of one scrape, so a cache that
// is not synced yet cannot hang the metrics endpoint.
const scrapeListTimeout = 5 * time.Second

var dashStreamsDesc = prometheus.NewDesc("dashstream_dashstreams",
	"The number of DashStreams, by backplane mode in force and the status of their Ready condition.",
	[]string{"backplane_mode", "ready"}, nil)

// dashStreamCollector counts DashStreams at scrape time from a reader,
// normally the manager's cache, so the gauge can never drift from what the
// cluster holds.
type dashStreamCollector struct {
	reader client.Reader
}

// NewDashStreamCollector returns a collector of dashstream_dashstreams that
// lists DashStreams from reader on every scrape. Pass the manager's cache.
func NewDashStreamCollector(reader client.Reader) prometheus.Collector {
	return &dashStreamCollector{reader: reader}
}

// RegisterDashStreamMetrics registers NewDashStreamCollector(reader) on
// controller-runtime's registry, which the manager serves on /metrics.
func RegisterDashStreamMetrics(reader client.Reader) error {
	if err := metrics.Registry.Register(NewDashStreamCollector(reader)); err != nil {
		return fmt.Errorf("register dashstream_dashstreams: %w", err)
	}

	return nil
}

// Describe implements prometheus.Collector.
func (c *dashStreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dashStreamsDesc
}

// Collect implements prometheus.Collector. A failed read yields no samples
// rather than an error: controller-runtime fails the whole scrape on an
// error, and the operator's other metrics matter more than this gauge.
func (c *dashStreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeListTimeout)
	defer cancel()

	list := &streamingv1alpha1.DashStreamList{}
	if err := c.reader.List(ctx, list); err != nil {
		ctrl.Log.WithName("metrics").Error(err, "Could not list DashStreams for dashstream_dashstreams")

		return
	}

	for k, n := range countDashStreams(list.Items) {
		ch <- prometheus.MustNewConstMetric(dashStreamsDesc, prometheus.GaugeValue, n, k.mode, k.ready)
	}
}

// dashStreamKey is one series of dashstream_dashstreams.
type dashStreamKey struct {
	mode, ready string
}

// countDashStreams counts items by mode and Ready status. Every known mode
// and status starts at zero, so a count that drops to zero stays visible
// instead of vanishing.
func countDashStreams(items []streamingv1alpha1.DashStream) map[dashStreamKey]float64 {
	counts := map[dashStreamKey]float64{}
	modes := []streamingv1alpha1.BackplaneMode{streamingv1alpha1.BackplaneNone,
		streamingv1alpha1.BackplanePerPodConsumerGroup, streamingv1alpha1.BackplaneBroadcast}
	statuses := []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}
	for _, m := range modes {
		for _, s := range statuses {
			counts[dashStreamKey{mode: string(m), ready: string(s)}] = 0
		}
	}

	for i := range items {
		ready := string(metav1.ConditionUnknown)
		if c := meta.FindStatusCondition(items[i].Status.Conditions, streamingv1alpha1.ConditionReady); c != nil {
			ready = string(c.Status)
		}
		counts[dashStreamKey{mode: string(policy.Mode(&items[i])), ready: ready}]++
	}

	return counts
}
