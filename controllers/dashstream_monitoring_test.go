package controllers_test

import (
	"fmt"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/controllers"
)

var _ = Describe("The API server's validation of monitoring settings", func() {
	var ns string

	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("refuses them with a message naming the field",
		func(monitoring *streamingv1alpha1.MonitoringSpec, wantInMessage ...string) {
			ds := plainDashStream(ns, "badmon")
			ds.Spec.Monitoring = monitoring

			err := k8sClient.Create(ctx, ds)
			Expect(err).To(HaveOccurred(), "the API server should refuse this DashStream")
			Expect(containsAll(err.Error(), wantInMessage...)).To(BeTrue(),
				"message %q should contain %q", err.Error(), wantInMessage)
		},
		Entry("critical staleness equal to the warning",
			&streamingv1alpha1.MonitoringSpec{PrometheusRule: &streamingv1alpha1.PrometheusRuleSpec{
				PartitionStaleWarningSeconds: ptr.To[int32](600), PartitionStaleCriticalSeconds: ptr.To[int32](600),
			}}, "spec.monitoring.prometheusRule.partitionStaleCriticalSeconds", "greater than"),
		Entry("a scrape interval without a unit",
			&streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{Interval: "30"}},
			"spec.monitoring.serviceMonitor.interval", "such as 30s"),
		Entry("a fractional scrape interval",
			&streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{Interval: "1.5m"}},
			"spec.monitoring.serviceMonitor.interval"),
		Entry("a zero scrape interval",
			&streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{Interval: "0s"}},
			"spec.monitoring.serviceMonitor.interval", "above zero"),
		Entry("more than 32 ServiceMonitor labels",
			&streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{
				Labels: manyLabels(33),
			}}, "spec.monitoring.serviceMonitor.labels", "32"),
	)

	It("accepts a valid scrape interval and stores the spec unchanged, with no defaults written", func() {
		ds := plainDashStream(ns, "goodmon")
		ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{
			Interval: "1m30s",
		}}
		Expect(k8sClient.Create(ctx, ds)).To(Succeed())

		stored := &streamingv1alpha1.DashStream{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), stored)).To(Succeed())
		Expect(stored.Spec.Monitoring.ServiceMonitor).
			To(Equal(&streamingv1alpha1.ServiceMonitorSpec{Interval: "1m30s"}),
				"enabled must stay unset in spec: its default is applied when rendering")
	})
})

var _ = Describe("The dashstream_dashstreams gauge", Ordered, func() {
	BeforeAll(func() {
		// The collector reads an informer cache built as the manager's is;
		// main.go passes the manager's own.
		c, err := cache.New(cfg, cache.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		go func() {
			defer GinkgoRecover()
			Expect(c.Start(ctx)).To(Succeed())
		}()
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())

		Expect(controllers.RegisterDashStreamMetrics(c)).To(Succeed())
	})

	It("counts DashStreams by backplane mode and Ready status, and keeps a count that drops to zero", func() {
		var before map[string]float64
		Eventually(func(g Gomega) { before = dashStreamGauge(g) }, timeout, interval).Should(Succeed())
		Expect(before).To(HaveLen(9), "every mode and Ready status should be exported, zeros included")

		ns := newNamespace()
		ready := plainDashStream(ns, "ready")
		Expect(k8sClient.Create(ctx, ready)).To(Succeed())
		markAvailable(deploymentOf(ready))
		expectCondition(ready, streamingv1alpha1.ConditionReady, metav1.ConditionTrue,
			streamingv1alpha1.ReasonAvailable)

		waiting := plainDashStream(ns, "waiting")
		perPod := plainDashStream(ns, "perpod")
		perPod.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplanePerPodConsumerGroup}
		perPod.Spec.Replicas = ptr.To[int32](2)
		broadcast := plainDashStream(ns, "broadcast")
		broadcast.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{
			Mode: streamingv1alpha1.BackplaneBroadcast, URL: "redis://backplane:6379",
		}
		for _, ds := range []*streamingv1alpha1.DashStream{waiting, perPod, broadcast} {
			Expect(k8sClient.Create(ctx, ds)).To(Succeed())
			expectCondition(ds, streamingv1alpha1.ConditionReady, metav1.ConditionFalse,
				streamingv1alpha1.ReasonDeploymentUnavailable)
		}

		Eventually(func(g Gomega) {
			g.Expect(gaugeChange(before, dashStreamGauge(g))).To(Equal(map[string]float64{
				"None/True": 1, "None/False": 1, "PerPodConsumerGroup/False": 1, "Broadcast/False": 1,
			}))
		}, timeout, interval).Should(Succeed())

		Expect(k8sClient.Delete(ctx, broadcast)).To(Succeed())

		Eventually(func(g Gomega) {
			now := dashStreamGauge(g)
			g.Expect(now).To(HaveKeyWithValue("Broadcast/False", before["Broadcast/False"]),
				"the series should stay, back at its earlier count")
			g.Expect(gaugeChange(before, now)).To(Equal(map[string]float64{
				"None/True": 1, "None/False": 1, "PerPodConsumerGroup/False": 1,
			}))
		}, timeout, interval).Should(Succeed())
	})
})

// This changes the whole API server: it installs both monitoring CRDs. Its
// low priority runs it after every other spec, in particular after the
// PrometheusRule late-CRD test, which needs that CRD absent when it starts.
var _ = Describe("Monitoring children", Ordered, SpecPriority(-1), func() {
	var (
		ns string
		ds *streamingv1alpha1.DashStream
	)

	BeforeAll(func() {
		installMonitoringCRD("monitoring.coreos.com_prometheusrules.yaml")

		ns = newNamespace()
		ds = plainDashStream(ns, "mon")
		ds.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{
			PrometheusRule: &streamingv1alpha1.PrometheusRuleSpec{
				Labels:                        map[string]string{"release": "kube-prometheus-stack", "team": "data"},
				LagOffsetAgeSeconds:           ptr.To[int32](90),
				PartitionStaleWarningSeconds:  ptr.To[int32](400),
				PartitionStaleCriticalSeconds: ptr.To[int32](1000),
			},
			ServiceMonitor: &streamingv1alpha1.ServiceMonitorSpec{
				Labels:   map[string]string{"release": "kube-prometheus-stack"},
				Interval: "15s",
			},
		}
		Expect(k8sClient.Create(ctx, ds)).To(Succeed())
	})

	It("writes the spec's thresholds into the rule expressions and its labels onto the PrometheusRule", func() {
		rule := &monitoringv1.PrometheusRule{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, serverKey(ds), rule)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		Expect(metav1.IsControlledBy(rule, ds)).To(BeTrue(), "the DashStream should own its rule")
		Expect(rule.Labels).To(HaveKeyWithValue("release", "kube-prometheus-stack"))
		Expect(rule.Labels).To(HaveKeyWithValue("team", "data"))
		Expect(ruleExpressions(rule)).To(And(
			HaveKeyWithValue("DashStreamKafkaLagHigh", HaveSuffix("> 90")),
			HaveKeyWithValue("DashStreamPartitionStale", HaveSuffix("> 400")),
			HaveKeyWithValue("DashStreamPartitionStaleCritical", HaveSuffix("> 1000")),
		), "each threshold from the spec should reach its rule")
		expectCondition(ds, streamingv1alpha1.ConditionMonitoringReady, metav1.ConditionTrue,
			streamingv1alpha1.ReasonRuleApplied)
	})

	It("keeps the rules in place and says why when new thresholds would alert wrongly", func() {
		// Critical alone passes the CRD's rule, which compares only thresholds
		// that are both set, but is below the default warning of 300.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), ds)).To(Succeed())
			ds.Spec.Monitoring.PrometheusRule.PartitionStaleWarningSeconds = nil
			ds.Spec.Monitoring.PrometheusRule.PartitionStaleCriticalSeconds = ptr.To[int32](200)
			g.Expect(k8sClient.Update(ctx, ds)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		cond := expectCondition(ds, streamingv1alpha1.ConditionMonitoringReady, metav1.ConditionFalse,
			streamingv1alpha1.ReasonRuleInvalid)
		Expect(cond.Message).To(ContainSubstring("spec.monitoring.prometheusRule.partitionStaleCriticalSeconds"))
		Expect(cond.Message).To(ContainSubstring("partitionStaleWarningSeconds 300"),
			"the message should name the default the threshold conflicts with")

		rule := &monitoringv1.PrometheusRule{}
		Expect(k8sClient.Get(ctx, serverKey(ds), rule)).To(Succeed())
		Expect(ruleExpressions(rule)).To(HaveKeyWithValue("DashStreamPartitionStaleCritical", HaveSuffix("> 1000")),
			"the rules already in place should not be rewritten")
		expectCondition(ds, streamingv1alpha1.ConditionStalled, metav1.ConditionFalse,
			streamingv1alpha1.ReasonNotStalled)
	})

	It("writes no rule at all for a new DashStream with such thresholds, and still runs its server", func() {
		bad := plainDashStream(ns, "badrules")
		bad.Spec.Monitoring = &streamingv1alpha1.MonitoringSpec{PrometheusRule: &streamingv1alpha1.PrometheusRuleSpec{
			PartitionStaleCriticalSeconds: ptr.To[int32](200),
		}}
		Expect(k8sClient.Create(ctx, bad)).To(Succeed())

		expectCondition(bad, streamingv1alpha1.ConditionMonitoringReady, metav1.ConditionFalse,
			streamingv1alpha1.ReasonRuleInvalid)
		deploymentOf(bad)
		Expect(k8sClient.Get(ctx, serverKey(bad), &corev1.Service{})).To(Succeed())
		Expect(k8sClient.Get(ctx, serverKey(bad), &monitoringv1.PrometheusRule{})).
			To(MatchError(ContainSubstring("not found")), "no PrometheusRule should be written")
	})

	It("reports ServiceMonitorReady=False while the ServiceMonitor CRD is missing, and reconciles the rest", func() {
		cond := expectCondition(ds, streamingv1alpha1.ConditionServiceMonitorReady, metav1.ConditionFalse,
			streamingv1alpha1.ReasonServiceMonitorCRDMissing)
		Expect(cond.Message).To(ContainSubstring("ServiceMonitor CRD"))
		Expect(k8sClient.Get(ctx, serverKey(ds), &corev1.Service{})).To(Succeed())
		expectCondition(ds, streamingv1alpha1.ConditionStalled, metav1.ConditionFalse,
			streamingv1alpha1.ReasonNotStalled)
	})

	It("creates the ServiceMonitor once its CRD is installed, without a restart", func() {
		installMonitoringCRD("monitoring.coreos.com_servicemonitors.yaml")

		sm := &monitoringv1.ServiceMonitor{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, serverKey(ds), sm)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, serverKey(ds), svc)).To(Succeed())
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		Expect(err).NotTo(HaveOccurred())
		Expect(sel.Empty()).To(BeFalse(), "an empty selector would scrape every Service in the namespace")
		Expect(sel.Matches(labels.Set(svc.Labels))).To(BeTrue(),
			"the ServiceMonitor should select the server's Service")
		Expect(sm.Spec.Endpoints).To(ConsistOf(And(
			HaveField("Port", svc.Spec.Ports[0].Name),
			HaveField("Path", "/metrics"),
			HaveField("Interval", monitoringv1.Duration("15s")),
		)))
		Expect(sm.Labels).To(HaveKeyWithValue("release", "kube-prometheus-stack"))
		Expect(metav1.IsControlledBy(sm, ds)).To(BeTrue(), "the DashStream should own its ServiceMonitor")
		expectCondition(ds, streamingv1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue,
			streamingv1alpha1.ReasonServiceMonitorApplied)
	})

	It("removes the ServiceMonitor when it is disabled, and leaves the rules alone", func() {
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ds), ds)).To(Succeed())
			ds.Spec.Monitoring.ServiceMonitor.Enabled = ptr.To(false)
			g.Expect(k8sClient.Update(ctx, ds)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		Eventually(func() error { return k8sClient.Get(ctx, serverKey(ds), &monitoringv1.ServiceMonitor{}) },
			timeout, interval).Should(MatchError(ContainSubstring("not found")))
		expectCondition(ds, streamingv1alpha1.ConditionServiceMonitorReady, metav1.ConditionTrue,
			streamingv1alpha1.ReasonServiceMonitorDisabled)
		Expect(k8sClient.Get(ctx, serverKey(ds), &monitoringv1.PrometheusRule{})).To(Succeed())
	})
})

// installMonitoringCRD installs one prometheus-operator CRD generated by
// `make test-crds`. Installing one that exists updates it in place.
func installMonitoringCRD(file string) {
	_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join("..", "bin", "crds", "monitoring", file)},
		ErrorIfPathMissing: true,
	})
	Expect(err).NotTo(HaveOccurred(), "install %s generated by `make test-crds`", file)
}

// serverKey names the children of ds, which share one name.
func serverKey(ds *streamingv1alpha1.DashStream) client.ObjectKey {
	return client.ObjectKey{Namespace: ds.Namespace, Name: ds.Name + "-websocket-server"}
}

func ruleExpressions(rule *monitoringv1.PrometheusRule) map[string]string {
	out := map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Expr.StrVal
		}
	}

	return out
}

// dashStreamGauge reads dashstream_dashstreams from the registry the
// manager serves, keyed by "mode/ready".
func dashStreamGauge(g Gomega) map[string]float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())

	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "dashstream_dashstreams" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["backplane_mode"]+"/"+l["ready"]] = m.GetGauge().GetValue()
		}
	}
	g.Expect(out).NotTo(BeEmpty(), "dashstream_dashstreams should be exported")

	return out
}

// gaugeChange returns the series whose value changed since before, by how much.
func gaugeChange(before, now map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range now {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}

	return out
}

func manyLabels(n int) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf("label-%d", i)] = "v"
	}

	return out
}
