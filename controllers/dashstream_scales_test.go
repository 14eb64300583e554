package controllers

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/event"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// serverUID is the UID of DashStream team/events in these tests.
const serverUID = types.UID("6f1c2a4e-0d0b-4c57-9a52-3b7d1b0e9c11")

// theDashStream is DashStream team/events, in mode None.
func theDashStream() *streamingv1alpha1.DashStream {
	return &streamingv1alpha1.DashStream{ObjectMeta: metav1.ObjectMeta{
		Namespace: "team", Name: "events", UID: serverUID,
	}}
}

// serverAt is the Deployment of DashStream team/events with n replicas at
// resourceVersion rv, spec.replicas last written by manager through
// subresource.
func serverAt(n int32, rv, manager, subresource string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "team", Name: "events-websocket-server", ResourceVersion: rv,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: streamingv1alpha1.GroupVersion.String(), Kind: "DashStream", Name: "events",
				UID: serverUID, Controller: ptr.To(true),
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: manager, Subresource: subresource, Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)},
			}},
		},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(n)},
	}
}

// nextEvent returns the Event rec got, or "" when there is none.
func nextEvent(rec *events.FakeRecorder) string {
	select {
	case e := <-rec.Events:
		return e
	default:
		return ""
	}
}

// TestAScaleAlreadyOverwrittenIsStillReported plays the race in which a
// reconcile, having read the Deployment just before kubectl scaled it,
// applied 1 replica over the scale without seeing it. The Deployment watch
// saw the scale, so the next reconcile, which finds 1 replica again,
// still reports the revert, once.
func TestAScaleAlreadyOverwrittenIsStillReported(t *testing.T) {
	rec := events.NewFakeRecorder(4)
	r := &DashStreamReconciler{Recorder: rec}
	ctx := context.Background()

	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(1, "10", render.FieldManager, ""), ObjectNew: serverAt(3, "11", "kubectl", "scale"),
	})
	restored := serverAt(1, "12", render.FieldManager, "")
	r.reportDrift(ctx, theDashStream(), &observation{deployment: restored})

	got := nextEvent(rec)
	if !strings.HasPrefix(got, "Warning ReplicasReverted") || !strings.Contains(got, "scaled to 3") {
		t.Errorf("Event %q, want a Warning ReplicasReverted saying it was scaled to 3", got)
	}

	r.reportDrift(ctx, theDashStream(), &observation{deployment: restored})
	if e := nextEvent(rec); e != "" {
		t.Errorf("a scale is reported once, got another Event: %q", e)
	}
}

// TestAScaleSeenInTheCacheFirstIsReportedOnce plays the other order: the
// cache, written before the watch's handlers run, shows the scale to a
// reconcile, which reports it; the note arrives after. The next reconcile
// must not report the same scale again.
func TestAScaleSeenInTheCacheFirstIsReportedOnce(t *testing.T) {
	rec := events.NewFakeRecorder(4)
	r := &DashStreamReconciler{Recorder: rec}
	ctx := context.Background()

	scaled := serverAt(3, "11", "kubectl", "scale")
	r.reportDrift(ctx, theDashStream(), &observation{deployment: scaled, replicasOwnedElsewhere: true})
	if e := nextEvent(rec); !strings.Contains(e, "scaled to 3") {
		t.Fatalf("Event %q, want the scale to 3 reported from the cache", e)
	}

	r.noteScale(event.UpdateEvent{ObjectOld: serverAt(1, "10", render.FieldManager, ""), ObjectNew: scaled})
	r.reportDrift(ctx, theDashStream(), &observation{deployment: serverAt(1, "12", render.FieldManager, "")})
	if e := nextEvent(rec); e != "" {
		t.Errorf("the scale was reported already, got another Event: %q", e)
	}
}

// TestNotesStayWithTheirDashStream checks that a note is dropped with its
// DashStream and never reaches a new one of the same name.
func TestNotesStayWithTheirDashStream(t *testing.T) {
	var r DashStreamReconciler
	key := types.NamespacedName{Namespace: "team", Name: "events"}
	scale := event.UpdateEvent{
		ObjectOld: serverAt(1, "10", render.FieldManager, ""), ObjectNew: serverAt(3, "11", "kubectl", "scale"),
	}

	r.noteScale(scale)
	if _, ok := r.scales.take(key, "another-uid"); ok {
		t.Error("a note about a DashStream's predecessor of the same name was taken")
	}

	r.noteScale(scale)
	r.scales.forget(key)
	if _, ok := r.scales.take(key, serverUID); ok {
		t.Error("a deleted DashStream's note was kept")
	}
}

// TestTheOperatorsOwnWritesAreNotNoted checks that the watch notes only
// counts others wrote.
func TestTheOperatorsOwnWritesAreNotNoted(t *testing.T) {
	var r DashStreamReconciler
	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(3, "11", "kubectl", "scale"), ObjectNew: serverAt(1, "12", render.FieldManager, ""),
	})
	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(2, "12", "kubectl", ""), ObjectNew: serverAt(2, "13", "kubectl", ""),
	})
	if _, ok := r.scales.take(types.NamespacedName{Namespace: "team", Name: "events"}, serverUID); ok {
		t.Error("the operator's own restore and an unchanged count should leave no note")
	}
}

// BenchmarkNoteScaleOfAStatusUpdate times the watch's note for the update
// it sees most: a status write that leaves the count alone.
func BenchmarkNoteScaleOfAStatusUpdate(b *testing.B) {
	var r DashStreamReconciler
	e := event.UpdateEvent{
		ObjectOld: serverAt(2, "10", "kubectl", "scale"), ObjectNew: serverAt(2, "11", "kubectl", "scale"),
	}

	b.ReportAllocs()
	for b.Loop() {
		r.noteScale(e)
	}
}
