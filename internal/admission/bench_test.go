package admission_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
)

// Each benchmark times one decision along the path a request takes: the
// webhook server's mux, controller-runtime's instrumentation and decoding
// of the AdmissionReview, the handler, and the encoded reply. The reader
// holds benchNamespaces×benchStreamsPerNamespace DashStreams, a third of
// each mode, and two HPAs per namespace. Only TLS and the network are left
// out; test/benchmark measures those, through a real API server.

const (
	benchNamespaces          = 20
	benchStreamsPerNamespace = 10
)

// BenchmarkHPAHandler times HPA creates: one allowed, one denied.
func BenchmarkHPAHandler(b *testing.B) {
	h := benchServer()
	allowed := hpaV2(benchNS, "cpu", "apps/v1", "Deployment", "checkout")
	denied := hpaV2(benchNS, "load", "apps/v1", "Deployment", "stream-0-websocket-server")

	b.Run("allowed", benchReview(h, dsadmission.PathHPA, hpaReview(kindHPAv2, allowed, nil), true))
	b.Run("denied", benchReview(h, dsadmission.PathHPA, hpaReview(kindHPAv2, denied, nil), false))
}

// BenchmarkScaleHandler times scale updates of a pinned server.
func BenchmarkScaleHandler(b *testing.B) {
	h := benchServer()

	b.Run("allowed", benchReview(h, dsadmission.PathScale, benchScale(1), true))
	b.Run("denied", benchReview(h, dsadmission.PathScale, benchScale(2), false))
}

// BenchmarkDeploymentHandler times updates of a pinned server's replicas.
func BenchmarkDeploymentHandler(b *testing.B) {
	h := benchServer()
	unchanged := benchDeployment("alice", 1)
	raised := benchDeployment("alice", 3)

	b.Run("unchanged", benchReview(h, dsadmission.PathDeployment, unchanged, true))
	b.Run("denied", benchReview(h, dsadmission.PathDeployment, raised, false))
}

// BenchmarkDashStreamHandler times DashStream creates, with and without an
// HPA to warn about.
func BenchmarkDashStreamHandler(b *testing.B) {
	h := benchServer()
	quiet := dashStreamReview(dashStream(benchNS, "stream-9", streamingv1alpha1.BackplaneNone))
	warned := dashStreamReview(dashStream(benchNS, "stream-3", streamingv1alpha1.BackplaneNone))

	b.Run("clean", benchReview(h, dsadmission.PathDashStream, quiet, true))
	b.Run("warning", benchReview(h, dsadmission.PathDashStream, warned, true))
}

// BenchmarkBaseline times the same requests answered by a handler that
// admits without reading them, served the same way: what the path costs
// before any handler runs. The handlers' figures read against these.
func BenchmarkBaseline(b *testing.B) {
	srv := webhook.NewServer(webhook.Options{})
	srv.Register("/noop", &webhook.Admission{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response { return admission.Allowed("") })})
	h := srv.WebhookMux()

	b.Run("HPA", benchReview(h, "/noop", hpaReview(kindHPAv2, hpaV2(benchNS, "cpu", "apps/v1", "Deployment",
		"checkout"), nil), true))
	b.Run("Scale", benchReview(h, "/noop", benchScale(2), true))
	b.Run("Deployment", benchReview(h, "/noop", benchDeployment("alice", 3), true))
	b.Run("DashStream", benchReview(h, "/noop", dashStreamReview(dashStream(benchNS, "stream-3",
		streamingv1alpha1.BackplaneNone)), true))
}

// benchNS is the namespace the benchmarks' requests come from.
var benchNS = benchNamespace(7)

func benchNamespace(i int) string {
	return fmt.Sprintf("team-%02d", i)
}

// benchServer serves the webhooks as Register does in production.
func benchServer() http.Handler {
	reader := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(benchObjects()...).Build()
	srv := webhook.NewServer(webhook.Options{})
	dsadmission.Register(srv, testScheme, reader, operatorUser)

	return srv.WebhookMux()
}

// benchObjects are the DashStreams and HPAs of a busy cluster. stream-0 of
// every namespace is in mode None, and an HPA already aims at stream-3.
func benchObjects() []client.Object {
	modes := []streamingv1alpha1.BackplaneMode{
		streamingv1alpha1.BackplaneNone, streamingv1alpha1.BackplanePerPodConsumerGroup,
		streamingv1alpha1.BackplaneBroadcast,
	}
	var objs []client.Object
	for n := range benchNamespaces {
		ns := benchNamespace(n)
		for i := range benchStreamsPerNamespace {
			objs = append(objs, dashStream(ns, fmt.Sprintf("stream-%d", i), modes[i%len(modes)]))
		}
		objs = append(objs, hpaV2(ns, "legacy", "apps/v1", "Deployment", "stream-3-websocket-server"),
			hpaV2(ns, "web", "apps/v1", "Deployment", "frontend"))
	}

	return objs
}

func benchScale(n int32) request {
	r := scaleReview("stream-0-websocket-server", n)
	r.namespace = benchNS

	return r
}

func benchDeployment(user string, n int32) request {
	r := deploymentReview(user, "stream-0-websocket-server", ptr.To[int32](1), ptr.To[int32](n))
	r.namespace = benchNS

	return r
}

// benchReview times r posted to path, after checking once that the
// answer is the one expected, so that the figures are for that path.
func benchReview(h http.Handler, path string, r request, allowed bool) func(*testing.B) {
	body := r.body()

	return func(b *testing.B) {
		if got := post(b, h, path, body).response(); got.Allowed != allowed {
			b.Fatalf("want allowed=%v for this benchmark, got %s", allowed, resultOf(got))
		}

		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newPost(path, body))
		}
	}
}
