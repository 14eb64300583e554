package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

func dashStreamAt(name, rv string) *streamingv1alpha1.DashStream {
	return &streamingv1alpha1.DashStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, ResourceVersion: rv},
	}
}

// isBehind is behind's first answer.
func isBehind(w *ownWrites, kind string, cached client.Object) bool {
	stale, _ := w.behind(kind, cached)

	return stale
}

func TestOwnWritesTellsACopyOlderThanTheLastWrite(t *testing.T) {
	var w ownWrites
	if isBehind(&w, kindDashStream, dashStreamAt("events", "7")) {
		t.Fatal("an object the operator never wrote cannot be behind")
	}

	w.wrote(kindDashStream, dashStreamAt("events", "120"))
	for _, rv := range []string{"119", "99"} {
		if !isBehind(&w, kindDashStream, dashStreamAt("events", rv)) {
			t.Errorf("resourceVersion %s read after a write of 120 should be behind", rv)
		}
	}
	if isBehind(&w, kindDeployment, dashStreamAt("events", "99")) {
		t.Error("a write of the DashStream says nothing about its Deployment")
	}
	if isBehind(&w, kindDashStream, dashStreamAt("other", "99")) {
		t.Error("a write of one DashStream says nothing about another")
	}

	if isBehind(&w, kindDashStream, dashStreamAt("events", "1000")) {
		t.Error("a copy newer than the write is not behind")
	}
	if isBehind(&w, kindDashStream, dashStreamAt("events", "119")) {
		t.Error("once the cache caught up, the write should be forgotten")
	}
	if len(w.writes) != 0 {
		t.Errorf("writes the cache has seen should be forgotten, %d kept", len(w.writes))
	}
}

func TestOwnWritesStopsWaitingAfterTheLimit(t *testing.T) {
	now := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	w := ownWrites{now: func() time.Time { return now }}
	w.wrote(kindDashStream, dashStreamAt("events", "120"))

	now = now.Add(cacheLagLimit - time.Millisecond)
	if stale, gaveUp := w.behind(kindDashStream, dashStreamAt("events", "119")); !stale || gaveUp {
		t.Fatalf("just within the limit: stale=%v gaveUp=%v, want a wait", stale, gaveUp)
	}

	// An etcd restored from a backup serves resourceVersions lower than
	// the operator's last write, for good.
	now = now.Add(time.Millisecond)
	if stale, gaveUp := w.behind(kindDashStream, dashStreamAt("events", "119")); stale || !gaveUp {
		t.Fatalf("at the limit: stale=%v gaveUp=%v, want the wait given up", stale, gaveUp)
	}
	if isBehind(&w, kindDashStream, dashStreamAt("events", "119")) {
		t.Error("a write given up on should be forgotten")
	}
}

func TestOwnWritesNeverWaitsOnResourceVersionsItCannotCompare(t *testing.T) {
	var w ownWrites
	w.wrote(kindDashStream, dashStreamAt("events", "abc"))
	if isBehind(&w, kindDashStream, dashStreamAt("events", "5")) {
		t.Error("a write whose resourceVersion is not an integer should not make the reconciler wait")
	}

	w.wrote(kindDashStream, dashStreamAt("events", "10"))
	w.forget(kindDashStream, client.ObjectKey{Namespace: "team", Name: "events"})
	if isBehind(&w, kindDashStream, dashStreamAt("events", "5")) {
		t.Error("a deleted DashStream's writes should be forgotten")
	}
}
