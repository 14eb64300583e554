package admission_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// The handler benchmarks time one decision: the handler's Handle, given
// the request as controller-runtime hands it over, reading from an
// informer cache (benchCache) that holds
// benchNamespaces×benchStreamsPerNamespace DashStreams, a third of each
// mode, and two HPAs per namespace. BenchmarkServed times the same
// requests along the whole path inside the operator: the webhook server's
// mux, controller-runtime's instrumentation and decoding of the
// AdmissionReview, the handler, and the encoded reply; and, for each, a
// handler that admits without reading, the cost of the path alone. Only
// TLS and the network are left out; test/benchmark measures those, through
// a real API server.

const (
	benchNamespaces          = 20
	benchStreamsPerNamespace = 10
)

// benchCase is one request a benchmark sends, and the answer it must get.
type benchCase struct {
	webhook, name, path string
	req                 request
	allowed             bool
}

// benchCases are the requests every benchmark sends.
func benchCases() []benchCase {
	return []benchCase{
		{"HPA", "allowed", dsadmission.PathHPA,
			hpaReview(kindHPAv2,
				testobjects.HPAv2(benchNS, "cpu", "apps/v1", "Deployment", "stream-1-websocket-server"), nil),
			true},
		{"HPA", "denied", dsadmission.PathHPA,
			hpaReview(kindHPAv2,
				testobjects.HPAv2(benchNS, "load", "apps/v1", "Deployment", "stream-0-websocket-server"), nil),
			false},
		{"Scale", "allowed", dsadmission.PathScale, benchScale(1), true},
		{"Scale", "denied", dsadmission.PathScale, benchScale(2), false},
		{"Deployment", "unchanged", dsadmission.PathDeployment, benchDeployment("alice", 1), true},
		{"Deployment", "denied", dsadmission.PathDeployment, benchDeployment("alice", 3), false},
		{"DashStream", "clean", dsadmission.PathDashStream,
			dashStreamReview(dashStream(benchNS, "stream-9", streamingv1alpha1.BackplaneNone)), true},
		{"DashStream", "warning", dsadmission.PathDashStream,
			dashStreamReview(dashStream(benchNS, "stream-3", streamingv1alpha1.BackplaneNone)), true},
	}
}

// BenchmarkHPAHandler times HPA creates: one allowed, one denied.
func BenchmarkHPAHandler(b *testing.B) { benchHandler(b, "HPA") }

// BenchmarkScaleHandler times scale updates of a pinned server, to 1 and 2.
func BenchmarkScaleHandler(b *testing.B) { benchHandler(b, "Scale") }

// BenchmarkDeploymentHandler times a user's updates of a pinned server:
// replicas kept at 1, and raised to 3.
func BenchmarkDeploymentHandler(b *testing.B) { benchHandler(b, "Deployment") }

// BenchmarkDashStreamHandler times DashStream creates, with and without an
// HPA to warn about.
func BenchmarkDashStreamHandler(b *testing.B) { benchHandler(b, "DashStream") }

// benchHandler times each case of webhook through its handler alone.
func benchHandler(b *testing.B, webhook string) {
	handlers := benchHandlers(b)
	for _, c := range benchCases() {
		if c.webhook != webhook {
			continue
		}
		h, req := handlers[c.path], admissionRequest(b, c.req)
		b.Run(c.name, func(b *testing.B) {
			got := h.Handle(context.Background(), req)
			if got.Allowed != c.allowed || (len(got.Warnings) > 0) != (c.name == "warning") {
				b.Fatalf("want allowed=%v, warning=%v for this benchmark, got %s, warnings %q",
					c.allowed, c.name == "warning", resultOf(&got.AdmissionResponse), got.Warnings)
			}

			b.ReportAllocs()
			for b.Loop() {
				h.Handle(context.Background(), req)
			}
		})
	}
}

// BenchmarkServed times every case along the webhook server's whole path,
// and the same request answered by a handler that admits without reading
// it (noop): what the path costs before any handler runs.
func BenchmarkServed(b *testing.B) {
	h := benchServer(b)
	srv := webhook.NewServer(webhook.Options{})
	srv.Register("/noop", &webhook.Admission{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response { return admission.Allowed("") })})
	noop := srv.WebhookMux()

	for _, c := range benchCases() {
		b.Run(c.webhook+"/"+c.name, benchReview(h, c.path, c.req, c.allowed))
		b.Run(c.webhook+"/"+c.name+"/noop", benchReview(noop, "/noop", c.req, true))
	}
}

// benchNS is the namespace the benchmarks' requests come from.
var benchNS = benchNamespace(7)

func benchNamespace(i int) string {
	return fmt.Sprintf("team-%02d", i)
}

// benchServer serves the webhooks as Register does in production.
func benchServer(b *testing.B) http.Handler {
	srv := webhook.NewServer(webhook.Options{})
	dsadmission.Register(srv, testScheme, benchCache(b, benchObjects()), operatorUser)

	return srv.WebhookMux()
}

// benchHandlers are the handlers Register serves, by path.
func benchHandlers(b *testing.B) map[string]admission.Handler {
	srv := &handlerCatcher{Server: webhook.NewServer(webhook.Options{}), handlers: map[string]admission.Handler{}}
	dsadmission.Register(srv, testScheme, benchCache(b, benchObjects()), operatorUser)

	return srv.handlers
}

// handlerCatcher keeps the admission handlers registered on it.
type handlerCatcher struct {
	webhook.Server
	handlers map[string]admission.Handler
}

// Register keeps hook's handler under path.
func (s *handlerCatcher) Register(path string, hook http.Handler) {
	if a, ok := hook.(*webhook.Admission); ok {
		s.handlers[path] = a.Handler
	}
}

// admissionRequest is r as controller-runtime hands it to a handler, after
// decoding the AdmissionReview the API server sent.
func admissionRequest(b *testing.B, r request) admission.Request {
	review := admissionv1.AdmissionReview{}
	if err := utiljson.Unmarshal(r.body(), &review); err != nil {
		b.Fatalf("decode the AdmissionReview: %v", err)
	}

	return admission.Request{AdmissionRequest: *review.Request}
}

// benchObjects are the DashStreams and HPAs of a busy cluster. stream-0 of
// every namespace is in mode None, stream-1 in PerPodConsumerGroup, and an
// HPA already aims at stream-3.
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
		objs = append(objs, testobjects.HPAv2(ns, "legacy", "apps/v1", "Deployment", "stream-3-websocket-server"),
			testobjects.HPAv2(ns, "web", "apps/v1", "Deployment", "frontend"))
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
