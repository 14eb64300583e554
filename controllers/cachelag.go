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

// cacheLagRetry is how soon a reconcile runs again after it found the cache
// behind the API server: behind the operator's own last write, or behind
// another writer's, which a status write's conflict reveals. Informers
// usually catch up within milliseconds.
const cacheLagRetry = 100 * time.Millisecond

// ownWrites remembers the resourceVersion that the operator's last write of
// each object produced. The informer cache trails the API server, so right
// after a write a reconcile may read the copy from before it: a status
// computed against that copy can look unchanged and never be written,
// leaving a stale Ready=False in place until the next resync. Knowing its
// own writes, the reconciler waits for the cache instead. resourceVersions
// of one resource compare as integers (see apimachinery's resourceversion
// package).
//
// The zero value is ready to use and safe for concurrent reconciles.
type ownWrites struct {
	mu       sync.Mutex
	versions map[writeKey]string
}

// writeKey names one object; the kind keeps a DashStream and its
// Deployment apart.
type writeKey struct {
	kind string
	key  client.ObjectKey
}

// wrote records obj's resourceVersion, as the API server returned it from
// the operator's write.
func (w *ownWrites) wrote(kind string, obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.versions == nil {
		w.versions = map[writeKey]string{}
	}
	w.versions[writeKey{kind, client.ObjectKeyFromObject(obj)}] = obj.GetResourceVersion()
}

// behind tells whether cached, as read from the cache, is older than the
// operator's last write of it. Once the cache has caught up the write is
// forgotten, so the map holds only writes still in flight. A
// resourceVersion that is not an integer, which only an unusual storage
// backend would serve, is never called behind.
func (w *ownWrites) behind(kind string, cached client.Object) bool {
	w.mu.Lock()
	defer w.mu.Unlock()

	k := writeKey{kind, client.ObjectKeyFromObject(cached)}
	written, ok := w.versions[k]
	if !ok {
		return false
	}

	cmp, err := resourceversion.CompareResourceVersion(cached.GetResourceVersion(), written)
	if err != nil || cmp >= 0 {
		delete(w.versions, k)

		return false
	}

	return true
}

// forget drops what is known of an object that no longer exists.
func (w *ownWrites) forget(kind string, key client.ObjectKey) {
	w.mu.Lock()
	defer w.mu.Unlock()

	delete(w.versions, writeKey{kind, key})
}
