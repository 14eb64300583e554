package admission_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// expected is, for each webhook Register serves, what its error replies
// say it expected.
var expected = map[string]string{
	dsadmission.PathHPA:        "HorizontalPodAutoscaler",
	dsadmission.PathScale:      "deployments/scale",
	dsadmission.PathDeployment: "apps/v1 Deployments",
	dsadmission.PathDashStream: "streaming.dashflow.io/v1alpha1 DashStreams",
}

// TestMalformedReviewIsAnError checks bodies that are no AdmissionReview:
// every webhook answers with an error reply, never a panic or an allow.
// controller-runtime refuses what it cannot decode, with its own message;
// what it decodes to an empty request, the handler refuses with its own.
func TestMalformedReviewIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	truncated := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":`
	for path, want := range expected {
		cases := map[string]struct {
			body, want string
		}{
			"an empty body":            {"", "request body is empty"},
			"not JSON":                 {"not json at all", "couldn't get version/kind"},
			"truncated JSON":           {truncated, "unexpected end of JSON input"},
			"a JSON array":             {`[{"request":{}}]`, "cannot unmarshal array"},
			"a review of a ConfigMap":  {`{"apiVersion":"v1","kind":"ConfigMap","data":{}}`, want},
			"a review with no request": {`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, want},
		}
		for name, tc := range cases {
			t.Run(path+"/"+name, func(t *testing.T) {
				post(t, srv.WebhookMux(), path, []byte(tc.body)).expectBadRequest(t, tc.want)
			})
		}
	}
}

// TestWrongContentTypeIsAnError checks that a body sent as anything but
// JSON is refused before any handler sees it.
func TestWrongContentTypeIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	body := hpaReview(kindHPAv2, testobjects.HPAv2(teamA, "load", "apps/v1", "Deployment", "checkout"), nil).body()
	req := newPost(dsadmission.PathHPA, body)
	req.Header.Set("Content-Type", "application/yaml")
	rec := httptest.NewRecorder()

	srv.WebhookMux().ServeHTTP(rec, req)

	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"allowed":false`) ||
		!strings.Contains(rec.Body.String(), "expected application/json") {
		t.Errorf("want an error reply that asks for application/json, got %d %s", rec.Code, rec.Body.String())
	}
}

// TestReviewWithoutObjectIsAnError checks an AdmissionReview that carries
// no object, or an empty request: each handler says what it expected.
func TestReviewWithoutObjectIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	hpa := hpaReview(kindHPAv2, testobjects.HPAv2(teamA, "load", "apps/v1", "Deployment", pinnedServer), nil)
	hpa.object = nil
	scale := scaleReview(pinnedServer, 2)
	scale.object = nil
	dep := deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](3))
	dep.object = nil
	ds := dashStreamReview(dashStream(teamA, "events", ""))
	ds.object = nil
	cases := []struct {
		path string
		req  request
		want string
	}{
		{dsadmission.PathHPA, hpa, "HorizontalPodAutoscaler"},
		{dsadmission.PathScale, scale, "Scale"},
		{dsadmission.PathDeployment, dep, "Deployment"},
		{dsadmission.PathDashStream, ds, "DashStream"},
		{dsadmission.PathHPA, request{}, expected[dsadmission.PathHPA]},
		{dsadmission.PathScale, request{}, expected[dsadmission.PathScale]},
		{dsadmission.PathDeployment, request{}, expected[dsadmission.PathDeployment]},
		{dsadmission.PathDashStream, request{}, expected[dsadmission.PathDashStream]},
	}
	for _, tc := range cases {
		t.Run(tc.path+"/"+tc.want, func(t *testing.T) {
			post(t, srv.WebhookMux(), tc.path, tc.req.body()).expectBadRequest(t, tc.want)
		})
	}
}

// TestUndecodableObjectIsAnError checks objects whose fields have the
// wrong types: an error reply that names the kind expected.
func TestUndecodableObjectIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	hpa := hpaReview(kindHPAv2, testobjects.HPAv2(teamA, "load", "apps/v1", "Deployment", pinnedServer), nil)
	hpa.rawObject = []byte(`{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","spec":5}`)
	hpaV1 := hpaReview(kindHPAv1, testobjects.HPAv1(teamA, "load", "apps/v1", "Deployment", pinnedServer), nil)
	hpaV1.rawObject = []byte(`{"spec":{"scaleTargetRef":{"name":7}}}`)
	scale := scaleReview(pinnedServer, 2)
	scale.rawObject = []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{"replicas":"two"}}`)
	dep := deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](3))
	dep.rawObject = []byte(`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":3.5}}`)
	ds := dashStreamReview(dashStream(teamA, "events", ""))
	ds.rawObject = []byte(`{"apiVersion":"streaming.dashflow.io/v1alpha1","kind":"DashStream","spec":[]}`)
	cases := []struct {
		path string
		req  request
		want string
	}{
		{dsadmission.PathHPA, hpa, "decode HorizontalPodAutoscaler"},
		{dsadmission.PathHPA, hpaV1, "decode HorizontalPodAutoscaler"},
		{dsadmission.PathScale, scale, "decode Scale"},
		{dsadmission.PathDeployment, dep, "decode Deployment"},
		{dsadmission.PathDashStream, ds, "decode DashStream"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			post(t, srv.WebhookMux(), tc.path, tc.req.body()).expectBadRequest(t, tc.want)
		})
	}
}

// TestUnexpectedKindIsAnError sends each webhook a request for a kind it is
// not registered for, as a misconfigured webhook would receive: the object
// as the API server encodes it, and the same object without apiVersion
// and kind, which would decode as anything.
func TestUnexpectedKindIsAnError(t *testing.T) {
	srv := newWebhookServer(fixture()...)
	cases := []struct {
		path string
		req  request
		want string
	}{
		{dsadmission.PathHPA, deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](1)),
			"autoscaling/v1 and v2 HorizontalPodAutoscalers"},
		{dsadmission.PathHPA, scaleReview(pinnedServer, 3), "autoscaling/v1 and v2 HorizontalPodAutoscalers"},
		{dsadmission.PathScale, deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](1)),
			"deployments/scale"},
		{dsadmission.PathScale, withSubresource(hpaReview(kindHPAv1, testobjects.HPAv1(teamA, "load", "", "Deployment",
			pinnedServer), nil), "scale"), "autoscaling/v1 Scale"},
		{dsadmission.PathDeployment, scaleReview(pinnedServer, 3), expected[dsadmission.PathDeployment]},
		{dsadmission.PathDeployment, dashStreamReview(dashStream(teamA, "events", "")),
			expected[dsadmission.PathDeployment]},
		{dsadmission.PathDashStream, deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](3)),
			expected[dsadmission.PathDashStream]},
	}
	for _, tc := range cases {
		for _, bare := range []bool{false, true} {
			r := tc.req
			if bare {
				r.rawObject = withoutTypeMeta(t, r.objectBytes())
			}
			name := tc.path + "/" + r.kind.Kind
			if bare {
				name += "/without apiVersion and kind"
			}
			t.Run(name, func(t *testing.T) {
				post(t, srv.WebhookMux(), tc.path, r.body()).expectBadRequest(t, tc.want)
			})
		}
	}
}

// TestUnreadableCacheIsAnError checks that a failed lookup of the pinning
// DashStream answers with an error, which the API server treats by the
// webhook's failure policy, and never with an allow.
func TestUnreadableCacheIsAnError(t *testing.T) {
	broken := newReader(fixture()...).
		WithInterceptorFuncs(interceptor.Funcs{
			Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return errors.New("cache not synced")
			},
			List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
				return errors.New("cache not synced")
			},
		}).Build()
	srv := newWebhookServerWith(broken)
	cases := map[string][]byte{
		dsadmission.PathHPA: hpaReview(kindHPAv2,
			testobjects.HPAv2(teamA, "load", "apps/v1", "Deployment", pinnedServer), nil).body(),
		dsadmission.PathScale:      scaleReview(pinnedServer, 2).body(),
		dsadmission.PathDeployment: deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](2)).body(),
		dsadmission.PathDashStream: dashStreamReview(
			dashStream(teamA, "events", streamingv1alpha1.BackplaneNone)).body(),
	}
	for path, body := range cases {
		resp := post(t, srv.WebhookMux(), path, body).response()
		if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusInternalServerError ||
			!strings.Contains(resp.Result.Message, "cache not synced") {
			t.Errorf("%s: want an error reply (500) that names the failed read, got allowed=%v %s",
				path, resp.Allowed, resultOf(resp))
		}
	}
}

func withSubresource(r request, sub string) request {
	r.subResource = sub

	return r
}
