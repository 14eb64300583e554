package alerts_test

import (
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/alerts"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// dashStream returns a DashStream events in namespace shop with the given
// backplane mode and alert thresholds (nil leaves a threshold unset).
func dashStream(mode streamingv1alpha1.BackplaneMode, lag, warn, crit *int32) *streamingv1alpha1.DashStream {
	ds := &streamingv1alpha1.DashStream{}
	ds.Namespace, ds.Name, ds.UID = "shop", "events", "uid-1"
	ds.Spec.Image = "server:1"
	ds.Spec.Kafka = streamingv1alpha1.KafkaSpec{Brokers: []string{"k:9092"}, Topic: "t", GroupID: "g"}
	if mode != "" {
		ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: mode}
	}

	rule := &streamingv1alpha1.PrometheusRuleSpec{
		LagOffsetAgeSeconds:           lag,
		PartitionStaleWarningSeconds:  warn,
		PartitionStaleCriticalSeconds: crit,
	}
	ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{PrometheusRule: rule}

	return ds
}

// renderedRule is the PrometheusRule the operator writes for ds.
func renderedRule(t *testing.T, ds *streamingv1alpha1.DashStream) *monitoringv1.PrometheusRule {
	t.Helper()
	u, err := render.PrometheusRule(ds)
	if err != nil {
		t.Fatalf("render the PrometheusRule: %v", err)
	}

	rule := &monitoringv1.PrometheusRule{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, rule); err != nil {
		t.Fatalf("read the rendered PrometheusRule back: %v", err)
	}

	return rule
}

// renderedRules reads the rules of the operator's PrometheusRule for ds
// back into the package's type.
func renderedRules(t *testing.T, ds *streamingv1alpha1.DashStream) []alerts.Rule {
	t.Helper()
	var out []alerts.Rule
	for _, g := range renderedRule(t, ds).Spec.Groups {
		for _, r := range g.Rules {
			out = append(out, alerts.Rule{
				Alert: r.Alert, Expr: r.Expr.String(), For: string(ptr.Deref(r.For, "")),
				Severity: r.Labels["severity"], Summary: r.Annotations["summary"],
				Description: r.Annotations["description"],
			})
		}
	}

	return out
}

// specVariations are the DashStreams whose rendered rules must all be valid.
var specVariations = []struct {
	name   string
	ds     *streamingv1alpha1.DashStream
	pinned bool
	want   []string // substrings some expression must hold
}{
	{"defaults, pinned", dashStream("", nil, nil, nil), true, []string{"> 60", "> 300", "> 900"}},
	{"custom thresholds, pinned", dashStream(streamingv1alpha1.BackplaneNone,
		ptr.To[int32](120), ptr.To[int32](600), ptr.To[int32](1800)), true,
		[]string{"> 120", "> 600", "> 1800"}},
	{"per-pod groups, not pinned", dashStream(streamingv1alpha1.BackplanePerPodConsumerGroup,
		nil, ptr.To[int32](30), nil), false, []string{"> 60", "> 30", "> 900"}},
	{"broadcast, not pinned", dashStream(streamingv1alpha1.BackplaneBroadcast,
		ptr.To[int32](1), ptr.To[int32](2), ptr.To[int32](86400)), false, []string{"> 1", "> 2", "> 86400"}},
}

func TestEveryRenderedRuleSetParses(t *testing.T) {
	for _, tc := range specVariations {
		t.Run(tc.name, func(t *testing.T) {
			rules := renderedRules(t, tc.ds)
			if err := alerts.Validate(rules); err != nil {
				t.Fatalf("the operator would write rules Prometheus rejects: %v", err)
			}

			names := alertNames(rules)
			if got := slices.Contains(names, "DashStreamPinnedReplicasExceeded"); got != tc.pinned {
				t.Errorf("pinned-replicas rule present = %v, want %v (rules %v)", got, tc.pinned, names)
			}

			for _, w := range tc.want {
				holds := func(r alerts.Rule) bool { return strings.Contains(r.Expr, w) }
				if !slices.ContainsFunc(rules, holds) {
					t.Errorf("no rendered expression holds %q: the spec's threshold did not reach the rules",
						w)
				}
			}
		})
	}
}

func TestStaticAndOperatorRulesParse(t *testing.T) {
	for _, g := range alerts.StaticGroups() {
		if err := alerts.Validate(g.Rules); err != nil {
			t.Errorf("group %s: %v", g.Name, err)
		}
	}
}

func TestDefaultThresholdsAreTheDocumentedOnes(t *testing.T) {
	want := alerts.Thresholds{LagOffsetAgeSeconds: 60, PartitionStaleWarningSeconds: 300,
		PartitionStaleCriticalSeconds: 900}
	if alerts.DefaultThresholds != want {
		t.Errorf("DefaultThresholds = %+v, want %+v as the CRD's field docs say; update both, and "+
			"the promtool tests", alerts.DefaultThresholds, want)
	}
}

func TestAllServersMatcherSelectsEveryServerService(t *testing.T) {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + alerts.AllServersMatcher + "}")
	if err != nil {
		t.Fatalf("AllServersMatcher does not parse: %v", err)
	}

	labels := map[string]string{"namespace": "shop", "service": render.ServerObjectName("events")}
	for _, m := range ms {
		if !m.Matches(labels[m.Name]) {
			t.Errorf("matcher %s misses the Service the operator creates, %s/%s", m, labels["namespace"],
				labels["service"])
		}
	}
}

func alertNames(rules []alerts.Rule) []string {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Alert
	}

	return names
}
