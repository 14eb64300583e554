package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

func dashStreamAt(name, rv string) *streamingv1alpha1.DashStream {
	return &streamingv1alpha1.DashStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, ResourceVersion: rv},
	}
}

func TestOwnWritesTellsACopyOlderThanTheLastWrite(t *testing.T) {
	var w ownWrites
	if w.behind(kindDashStream, dashStreamAt("events", "7")) {
		t.Fatal("an object the operator never wrote cannot be behind")
	}

	w.wrote(kindDashStream, dashStreamAt("events", "120"))
	for _, rv := range []string{"119", "99"} {
		if !w.behind(kindDashStream, dashStreamAt("events", rv)) {
			t.Errorf("resourceVersion %s read after a write of 120 should be behind", rv)
		}
	}
	if w.behind(kindDeployment, dashStreamAt("events", "99")) {
		t.Error("a write of the DashStream says nothing about its Deployment")
	}
	if w.behind(kindDashStream, dashStreamAt("other", "99")) {
		t.Error("a write of one DashStream says nothing about another")
	}

	if w.behind(kindDashStream, dashStreamAt("events", "1000")) {
		t.Error("a copy newer than the write is not behind")
	}
	if w.behind(kindDashStream, dashStreamAt("events", "119")) {
		t.Error("once the cache caught up, the write should be forgotten")
	}
}

func TestOwnWritesNeverWaitsOnResourceVersionsItCannotCompare(t *testing.T) {
	var w ownWrites
	w.wrote(kindDashStream, dashStreamAt("events", "abc"))
	if w.behind(kindDashStream, dashStreamAt("events", "5")) {
		t.Error("a write whose resourceVersion is not an integer should not make the reconciler wait")
	}

	w.wrote(kindDashStream, dashStreamAt("events", "10"))
	w.forget(kindDashStream, client.ObjectKey{Namespace: "team", Name: "events"})
	if w.behind(kindDashStream, dashStreamAt("events", "5")) {
		t.Error("a deleted DashStream's writes should be forgotten")
	}
}
