package admission_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	dsadmission "github.com/dashflow/dashstream-operator/internal/admission"
	"github.com/dashflow/dashstream-operator/internal/testobjects"
)

// Each fuzz target posts raw AdmissionReview bytes to one webhook, as the
// API server would, and checks that the handler never panics, always
// answers with a well-formed AdmissionReview, and never allows what its
// oracle (oracle_test.go) would not. `go test` runs the seeds; see
// docs/performance.md for a longer run.

// judge is an oracle: nil when resp is an acceptable answer to req.
type judge func(world, admission.Request, admission.Response) error

// FuzzHPAHandler fuzzes the HPA webhook.
func FuzzHPAHandler(f *testing.F) {
	addSeeds(f, hpaSeeds())
	fuzzWebhook(f, dsadmission.PathHPA, world.judgeHPA)
}

// FuzzScaleHandler fuzzes the deployments/scale webhook.
func FuzzScaleHandler(f *testing.F) {
	addSeeds(f, scaleSeeds())
	fuzzWebhook(f, dsadmission.PathScale, world.judgeScale)
}

// FuzzDeploymentHandler fuzzes the Deployment webhook.
func FuzzDeploymentHandler(f *testing.F) {
	addSeeds(f, deploymentSeeds())
	fuzzWebhook(f, dsadmission.PathDeployment, world.judgeDeployment)
}

// FuzzDashStreamHandler fuzzes the DashStream webhook.
func FuzzDashStreamHandler(f *testing.F) {
	addSeeds(f, dashStreamSeeds())
	fuzzWebhook(f, dsadmission.PathDashStream, world.judgeDashStream)
}

func fuzzWebhook(f *testing.F, path string, judge judge) {
	objs := fixture()
	w, srv := newWorld(objs), newWebhookServer(objs...)

	f.Fuzz(func(t *testing.T, body []byte) {
		srv.last.reset()
		got := post(t, srv.WebhookMux(), path, body)

		req, resp, called := srv.last.get()
		if !called {
			expectRefused(t, got, "an AdmissionReview the webhook could not decode")
			return
		}
		if err := sameAnswer(got, req); err != nil {
			t.Fatalf("%v\nbody: %q", err, body)
		}

		if hasDuplicateKeys(req.Object.Raw) || hasDuplicateKeys(req.OldObject.Raw) {
			return
		}
		if err := judge(w, req, resp); err != nil {
			t.Fatalf("%v\nbody: %q", err, body)
		}
	})
}

// expectRefused checks an error reply: not allowed, code 400, a message.
func expectRefused(t *testing.T, got reply, what string) {
	t.Helper()
	resp := got.response()
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest || resp.Result.Message == "" {
		t.Fatalf("want %s refused with code 400 and a message, got allowed=%v %s", what, resp.Allowed,
			resultOf(resp))
	}
}

// sameAnswer checks that the reply answers req: its UID, and a result with
// a code and message the API server can show whenever it is not allowed.
// The handlers' own errors are 400; 403 is a denial; a 500 would be a
// failed read of the fake cache, which never fails here.
func sameAnswer(got reply, req admission.Request) error {
	resp := got.response()
	if resp.UID != req.UID {
		return fmt.Errorf("reply answers UID %q, the request was %q", resp.UID, req.UID)
	}
	if resp.Allowed {
		return nil
	}
	if resp.Result == nil || resp.Result.Message == "" {
		return fmt.Errorf("refused without a message: %s", resultOf(resp))
	}
	if code := resp.Result.Code; code != http.StatusBadRequest && code != http.StatusForbidden {
		return fmt.Errorf("refused with code %d, want 400 or 403: %s", code, resp.Result.Message)
	}

	return nil
}

func addSeeds(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	for _, s := range malformedSeeds() {
		f.Add(s)
	}
}

// malformedSeeds are bodies that are no usable AdmissionReview.
func malformedSeeds() [][]byte {
	return [][]byte{
		nil,
		[]byte("{"),
		[]byte("null"),
		[]byte("[]"),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":"x"}}`),
		[]byte("apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  uid: yaml\n"),
	}
}

// v1beta1 is body sent as an admission.k8s.io/v1beta1 review.
func v1beta1(body []byte) []byte {
	return bytes.Replace(body, []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1)
}

func withRaw(r request, raw string) request {
	r.rawObject = []byte(raw)

	return r
}

func hpaSeeds() [][]byte {
	pinnedV2 := testobjects.HPAv2(teamA, "events-load", "apps/v1", "Deployment", pinnedServer)
	labelled := pinnedV2.DeepCopy()
	labelled.Labels = map[string]string{"team": "streaming"}
	raised := pinnedV2.DeepCopy()
	raised.Spec.MaxReplicas = 9
	create := hpaReview(kindHPAv2, pinnedV2, nil)
	bare := `{"spec":{"scaleTargetRef":{"kind":"Deployment","name":"events-websocket-server"},"maxReplicas":3}}`

	return [][]byte{
		create.body(),
		v1beta1(create.body()),
		hpaReview(kindHPAv1, testobjects.HPAv1(teamA, "v1", "", "Deployment", pinnedServer), nil).body(),
		hpaReview(kindHPAv1,
			testobjects.HPAv1(teamA, "v1", "extensions/v1beta1", "Deployment", "legacy-websocket-server"), nil).body(),
		hpaReview(kindHPAv2, testobjects.HPAv2(teamA, "cpu", "apps/v1", "Deployment", "checkout"), nil).body(),
		hpaReview(kindHPAv2, testobjects.HPAv2(teamA, "w", "example.com/v1", "Widget", pinnedServer), nil).body(),
		hpaReview(kindHPAv2,
			testobjects.HPAv2(teamA, "f", "apps/v1beta2", "Deployment", "fanout-websocket-server"), nil).body(),
		hpaReview(kindHPAv2, testobjects.HPAv2(teamB, "b", "apps/v1", "Deployment", pinnedServer), nil).body(),
		hpaReview(kindHPAv2, labelled, pinnedV2).body(),
		hpaReview(kindHPAv2, raised, pinnedV2).body(),
		withRaw(hpaReview(kindHPAv1, pinnedV2, nil), bare).body(),
		withRaw(create, `{"spec":null}`).body(),
		withRaw(create, `{"spec":{"scaleTargetRef":{"name":null,"kind":"Deployment"}}}`).body(),
		withRaw(create, `{"spec":{"maxReplicas":99999999999}}`).body(),
		withRaw(create,
			`{"metadata":{"name":"\u00e9v\u00e8nements"},"spec":{"scaleTargetRef":{"name":"\u0000"}}}`).body(),
		withRaw(deploymentReview("alice", pinnedServer, nil, ptr.To[int32](2)), bare).body(),
	}
}

func scaleSeeds() [][]byte {
	status := scaleReview(pinnedServer, 2)
	status.subResource = "status"
	wrongKind := scaleReview(pinnedServer, 2)
	wrongKind.kind = kindDeployment
	denied := scaleReview(pinnedServer, 2)

	return [][]byte{
		denied.body(),
		v1beta1(denied.body()),
		scaleReview(pinnedServer, 1).body(),
		scaleReview("legacy-websocket-server", 0).body(),
		scaleReview("fanout-websocket-server", 5).body(),
		scaleReview("checkout", 3).body(),
		status.body(),
		wrongKind.body(),
		withRaw(denied, `{"spec":{"replicas":"two"}}`).body(),
		withRaw(denied, `{"spec":{"replicas":4294967297}}`).body(),
		withRaw(denied, `{"spec":{"replicas":-1}}`).body(),
		withRaw(denied, `{"spec":{"replicas":1.0}}`).body(),
		withRaw(denied, `{"spec":null}`).body(),
		withRaw(denied, `{}`).body(),
	}
}

func deploymentSeeds() [][]byte {
	raise := deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](3))
	create := raise
	create.op, create.oldObject = admissionv1.Create, nil

	return [][]byte{
		raise.body(),
		v1beta1(raise.body()),
		deploymentReview(operatorUser, pinnedServer, ptr.To[int32](1), ptr.To[int32](3)).body(),
		deploymentReview("alice", pinnedServer, ptr.To[int32](1), ptr.To[int32](1)).body(),
		deploymentReview("alice", pinnedServer, nil, ptr.To[int32](2)).body(),
		deploymentReview("alice", "legacy-websocket-server", ptr.To[int32](2), nil).body(),
		deploymentReview("alice", "fanout-websocket-server", ptr.To[int32](1), ptr.To[int32](3)).body(),
		deploymentReview("", "checkout", ptr.To[int32](1), ptr.To[int32](3)).body(),
		create.body(),
		withRaw(raise, `{"spec":{"replicas":"3"}}`).body(),
		withRaw(raise, `{"spec":{"replicas":null}}`).body(),
		withRaw(raise, `{"apiVersion":"apps/v1beta1","kind":"Deployment","spec":{"replicas":3}}`).body(),
	}
}

func dashStreamSeeds() [][]byte {
	conflicting := dashStreamReview(dashStream(teamA, "events", streamingv1alpha1.BackplaneNone))

	return [][]byte{
		conflicting.body(),
		v1beta1(conflicting.body()),
		dashStreamReview(dashStream(teamA, "legacy", "")).body(),
		dashStreamReview(dashStream(teamA, "quiet", streamingv1alpha1.BackplaneNone)).body(),
		dashStreamReview(dashStream(teamA, "fanout", streamingv1alpha1.BackplanePerPodConsumerGroup)).body(),
		dashStreamReview(dashStream(teamA, "events", streamingv1alpha1.BackplaneBroadcast)).body(),
		dashStreamReview(dashStream(teamB, "events", "")).body(),
		withRaw(conflicting, `{"metadata":{"name":"events"},"spec":{"backplane":null}}`).body(),
		withRaw(conflicting, `{"metadata":{"name":"events"},"spec":{"backplane":{"mode":"none"}}}`).body(),
		withRaw(conflicting, `{"metadata":{"name":""},"spec":{}}`).body(),
		withRaw(conflicting, `{"metadata":{"name":"events"},"spec":{"replicas":"many"}}`).body(),
	}
}
