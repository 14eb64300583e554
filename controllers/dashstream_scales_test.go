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

// serverAt is the Deployment of DashStream team/events with n replicas,
// spec.replicas last written by manager through subresource.
func serverAt(n int32, manager, subresource string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "team", Name: "events-websocket-server",
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: streamingv1alpha1.GroupVersion.String(), Kind: "DashStream", Name: "events",
				Controller: ptr.To(true),
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: manager, Subresource: subresource, Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)},
			}},
		},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(n)},
	}
}

// TestAScaleAlreadyOverwrittenIsStillReported plays the race in which a
// reconcile, having read the Deployment just before kubectl scaled it,
// applied 1 replica over the scale without seeing it. The Deployment watch
// saw the scale, so the next reconcile, which finds 1 replica again,
// still reports the revert.
func TestAScaleAlreadyOverwrittenIsStillReported(t *testing.T) {
	rec := events.NewFakeRecorder(4)
	r := &DashStreamReconciler{Recorder: rec}
	ds := &streamingv1alpha1.DashStream{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "events"}}

	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(1, render.FieldManager, ""), ObjectNew: serverAt(3, "kubectl", "scale"),
	})
	restored := serverAt(1, render.FieldManager, "")
	r.reportDrift(context.Background(), ds, &observation{deployment: restored})

	select {
	case got := <-rec.Events:
		if !strings.HasPrefix(got, "Warning ReplicasReverted") || !strings.Contains(got, "scaled to 3") {
			t.Errorf("Event %q, want a Warning ReplicasReverted saying it was scaled to 3", got)
		}
	default:
		t.Fatal("no Event for a scale an earlier apply overwrote")
	}

	r.reportDrift(context.Background(), ds, &observation{deployment: restored})
	if len(rec.Events) != 0 {
		t.Errorf("a scale is reported once, got another Event: %q", <-rec.Events)
	}
}

// TestTheOperatorsOwnWritesAreNotNoted checks that the watch notes only
// counts others wrote.
func TestTheOperatorsOwnWritesAreNotNoted(t *testing.T) {
	var r DashStreamReconciler
	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(3, "kubectl", "scale"), ObjectNew: serverAt(1, render.FieldManager, ""),
	})
	r.noteScale(event.UpdateEvent{
		ObjectOld: serverAt(2, "kubectl", ""), ObjectNew: serverAt(2, "kubectl", ""),
	})
	if _, ok := r.scales.take(types.NamespacedName{Namespace: "team", Name: "events"}); ok {
		t.Error("the operator's own restore and an unchanged count should leave no note")
	}
}
