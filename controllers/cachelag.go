package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The kinds whose writes the reconciler remembers.
const (
	kindDashStream = "DashStream"
	kindDeployment = "Deployment"
)

const (
	// cacheLagRetry is how soon a reconcile runs again after it found the
	// cache behind the API server: behind the operator's own last write, or
	// behind another writer's, which a status write's conflict reveals.
	// Informers usually catch up within milliseconds.
	cacheLagRetry = 100 * time.Millisecond
	// cacheLagLimit is how long a reconcile waits for the cache to reach a
	// write before it goes on with what the cache holds. A cache that
	// never gets there (a watch that keeps failing, an etcd restored from
	// a backup, whose resourceVersions went back) must not stop the
	// operator.
	cacheLagLimit = 10 * time.Second
)

// ownWrites remembers the resourceVersion that the operator's last write of
// each object produced. The informer cache trails the API server, so right
// after a write a reconcile may read the copy from before it: a status
// computed against that copy can look unchanged and never be written,
// leaving a stale Ready=False in place until the next resync. Knowing its
// own writes, the reconciler waits for the cache instead. resourceVersions
// of one resource compare as integers (see apimachinery's resourceversion
// package).
//
// It holds at most one write per DashStream and one per Deployment, and
// forgets each once the cache has it, the wait has lasted cacheLagLimit, or
// the DashStream is gone. The zero value is ready to use and safe for
// concurrent reconciles.
type ownWrites struct {
	mu     sync.Mutex
	writes map[writeKey]write
	// now is the clock; nil means time.Now.
	now func() time.Time
}

// writeKey names one object; the kind keeps a DashStream and its
// Deployment apart.
type writeKey struct {
	kind string
	key  client.ObjectKey
}

// write is the resourceVersion one write produced, and when.
type write struct {
	version string
	at      time.Time
}

// wrote records obj's resourceVersion, as the API server returned it from
// the operator's write.
func (w *ownWrites) wrote(kind string, obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.writes == nil {
		w.writes = map[writeKey]write{}
	}
	w.writes[writeKey{kind, client.ObjectKeyFromObject(obj)}] = write{obj.GetResourceVersion(), w.clock()}
}

// behind tells whether cached, as read from the cache, is older than the
// operator's last write of it, and whether it still is after cacheLagLimit
// (gaveUp), when the reconciler stops waiting and the write is forgotten.
// A resourceVersion that is not an integer, which only an unusual storage
// backend would serve, is never called behind.
func (w *ownWrites) behind(kind string, cached client.Object) (stale, gaveUp bool) {
	w.mu.Lock()
	defer w.mu.Unlock()

	k := writeKey{kind, client.ObjectKeyFromObject(cached)}
	last, ok := w.writes[k]
	if !ok {
		return false, false
	}

	cmp, err := resourceversion.CompareResourceVersion(cached.GetResourceVersion(), last.version)
	if err != nil || cmp >= 0 {
		delete(w.writes, k)

		return false, false
	}
	if w.clock().Sub(last.at) >= cacheLagLimit {
		delete(w.writes, k)

		return false, true
	}

	return true, false
}

// forget drops what is known of an object that no longer exists.
func (w *ownWrites) forget(kind string, key client.ObjectKey) {
	w.mu.Lock()
	defer w.mu.Unlock()

	delete(w.writes, writeKey{kind, key})
}

func (w *ownWrites) clock() time.Time {
	if w.now != nil {
		return w.now()
	}

	return time.Now()
}
