package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/index"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// webhookServer is the operator's webhook server as Register builds it,
// reached in process over HTTP. It differs from production in two ways,
// both to serve the tests: a panic in a handler reaches the test instead
// of becoming an error reply, and the last request a handler decided and
// its answer are kept, for the fuzz oracles.
type webhookServer struct {
	webhook.Server
	last *decision
}

// newWebhookServer serves every handler with a fake reader holding objs.
func newWebhookServer(objs ...client.Object) *webhookServer {
	return newWebhookServerWith(newReader(objs...).Build())
}

// newReader is a fake reader holding objs, indexed as the manager's cache
// is.
func newReader(objs ...client.Object) *fake.ClientBuilder {
	return fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithIndex(&autoscalingv2.HorizontalPodAutoscaler{}, index.HPAsByDeployment, index.ScaledDeployment)
}

func newWebhookServerWith(reader client.Reader) *webhookServer {
	srv := &webhookServer{Server: webhook.NewServer(webhook.Options{}), last: &decision{}}
	dsadmission.Register(srv, testScheme, reader, operatorUser)

	return srv
}

// Register serves hook after wrapping its admission handler in a recorder.
func (s *webhookServer) Register(path string, hook http.Handler) {
	if a, ok := hook.(*webhook.Admission); ok {
		a.Handler = &recorder{next: a.Handler, into: s.last}
		a.RecoverPanic = ptr.To(false)
	}
	s.Server.Register(path, hook)
}

// decision is the request a handler last decided and its answer.
type decision struct {
	mu     sync.Mutex
	called bool
	req    admission.Request
	resp   admission.Response
}

func (d *decision) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.called, d.req, d.resp = false, admission.Request{}, admission.Response{}
}

func (d *decision) get() (admission.Request, admission.Response, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()

	return d.req, d.resp, d.called
}

// recorder passes a request to the real handler and keeps both sides.
type recorder struct {
	next admission.Handler
	into *decision
}

// Handle records req and the handler's answer to it.
func (r *recorder) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp := r.next.Handle(ctx, req)

	r.into.mu.Lock()
	defer r.into.mu.Unlock()
	r.into.called, r.into.req, r.into.resp = true, req, resp

	return resp
}

// reply is a webhook's answer as the API server reads it.
type reply struct {
	review admissionv1.AdmissionReview
}

// response is the AdmissionResponse of a well-formed reply.
func (r reply) response() *admissionv1.AdmissionResponse {
	return r.review.Response
}

// post sends body to path as the API server does and checks that the
// answer is a well-formed AdmissionReview.
func post(t testing.TB, h http.Handler, path string, body []byte) reply {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newPost(path, body))

	var r reply
	if rec.Code != http.StatusOK {
		t.Fatalf("want HTTP 200 for every AdmissionReview, got %d: %s", rec.Code, rec.Body.String())
	}
	if err := utiljson.Unmarshal(rec.Body.Bytes(), &r.review); err != nil {
		t.Fatalf("want a JSON AdmissionReview in reply, got %q: %v", rec.Body.String(), err)
	}
	if r.review.Response == nil {
		t.Fatalf("want an AdmissionReview with a response, got %s", rec.Body.String())
	}

	return r
}

// newPost is the request the API server sends; an empty body arrives as
// no body at all, as it would over the network.
func newPost(path string, body []byte) *http.Request {
	var r io.Reader
	if len(body) > 0 {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(http.MethodPost, path, r)
	req.Header.Set("Content-Type", "application/json")

	return req
}

// expectAllowed checks that the request was admitted.
func (r reply) expectAllowed(t testing.TB) {
	t.Helper()
	if resp := r.response(); !resp.Allowed {
		t.Errorf("want the request admitted, got denied: %s", resultOf(resp))
	}
}

// expectDenied checks that the request was denied (403) with a message
// holding every part.
func (r reply) expectDenied(t testing.TB, parts ...string) {
	t.Helper()
	resp := r.response()
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusForbidden {
		t.Errorf("want a denial (403), got allowed=%v, %s", resp.Allowed, resultOf(resp))
		return
	}
	expectMessage(t, resp.Result.Message, parts...)
}

// expectBadRequest checks that the request was refused as malformed (400)
// with a message holding every part: never an allow, never a denial that
// would read as a policy decision.
func (r reply) expectBadRequest(t testing.TB, parts ...string) {
	t.Helper()
	resp := r.response()
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("want an error reply (not allowed, code 400), got allowed=%v, %s", resp.Allowed, resultOf(resp))
		return
	}
	expectMessage(t, resp.Result.Message, parts...)
}

func expectMessage(t testing.TB, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("want the message to name %q, got %q", p, msg)
		}
	}
}

func resultOf(resp *admissionv1.AdmissionResponse) string {
	if resp.Result == nil {
		return "no result"
	}

	return fmt.Sprintf("code %d: %s", resp.Result.Code, resp.Result.Message)
}

// request is one AdmissionReview the API server could send.
type request struct {
	kind              metav1.GroupVersionKind
	resource          string
	subResource       string
	op                admissionv1.Operation
	namespace, name   string
	user              string
	object, oldObject runtime.Object
	// rawObject, when set, is sent as the object instead of object.
	rawObject []byte
}

// body encodes r as the API server does. It panics only if a typed object
// cannot be encoded, which would be a broken test.
func (r request) body() []byte {
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:  types.UID("7d5c1a2e-" + r.name),
			Kind: r.kind,
			Resource: metav1.GroupVersionResource{
				Group: r.kind.Group, Version: r.kind.Version, Resource: r.resource,
			},
			SubResource: r.subResource,
			Name:        r.name,
			Namespace:   r.namespace,
			Operation:   r.op,
			UserInfo:    authenticationv1.UserInfo{Username: r.user},
			Object:      runtime.RawExtension{Raw: r.objectBytes()},
			OldObject:   runtime.RawExtension{Raw: encode(r.oldObject)},
		},
	}

	return encode(&review)
}

func (r request) objectBytes() []byte {
	if r.rawObject != nil {
		return r.rawObject
	}

	return encode(r.object)
}

func encode(obj runtime.Object) []byte {
	if obj == nil {
		return nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}

	return raw
}

// hpaReview is the request to create an HPA, or to update old into hpa
// when old is not nil, as alice.
func hpaReview(kind metav1.GroupVersionKind, hpa, old client.Object) request {
	r := request{
		kind: kind, resource: "horizontalpodautoscalers", op: admissionv1.Create,
		namespace: hpa.GetNamespace(), name: hpa.GetName(), user: "alice", object: hpa,
	}
	if old != nil {
		r.op, r.oldObject = admissionv1.Update, old
	}

	return r
}

// scaleReview is the request to scale Deployment name in team-a to n.
func scaleReview(name string, n int32) request {
	return request{
		kind: kindScale, resource: "deployments", subResource: "scale", op: admissionv1.Update,
		namespace: teamA, name: name, user: "alice",
		object: testobjects.Scale(teamA, name, n), oldObject: testobjects.Scale(teamA, name, 1),
	}
}

// deploymentReview is user's update of a Deployment in team-a from old
// replicas to new ones (nil: unset).
func deploymentReview(user, name string, old, new *int32) request {
	return request{
		kind: kindDeployment, resource: "deployments", op: admissionv1.Update,
		namespace: teamA, name: name, user: user,
		object: deployment(teamA, name, new), oldObject: deployment(teamA, name, old),
	}
}

// dashStreamReview is the request to create ds.
func dashStreamReview(ds client.Object) request {
	return request{
		kind: kindDashStream, resource: "dashstreams", op: admissionv1.Create,
		namespace: ds.GetNamespace(), name: ds.GetName(), user: "alice", object: ds,
	}
}

// withoutTypeMeta returns the JSON object raw without apiVersion and kind.
func withoutTypeMeta(t testing.TB, raw []byte) []byte {
	t.Helper()
	obj := map[string]any{}
	if err := utiljson.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	delete(obj, "apiVersion")
	delete(obj, "kind")

	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encode %v: %v", obj, err)
	}

	return out
}
