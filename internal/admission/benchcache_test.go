package admission_test

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	fcache "k8s.io/client-go/tools/cache/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/index"
)

// benchCache is the reader the manager gives the webhooks in production,
// controller-runtime's informer cache with the operator's index, filled
// with objs. Its informers list and watch client-go's fake source instead
// of an API server, so a read costs what it costs in the operator: a map
// or index lookup and a deep copy.
func benchCache(b *testing.B, objs []client.Object) client.Reader {
	sources := map[string]*fcache.FakeControllerSource{}
	for _, o := range objs {
		key := sourceKey(o)
		if sources[key] == nil {
			sources[key] = fcache.NewFakeControllerSource()
		}
		sources[key].Add(o.DeepCopyObject())
	}

	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(streamingv1alpha1.GroupVersion.WithKind("DashStream"), meta.RESTScopeNamespace)
	mapper.Add(autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), meta.RESTScopeNamespace)

	c, err := cache.New(&rest.Config{Host: "https://unused.invalid"}, cache.Options{
		Scheme: testScheme,
		Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration,
			indexers toolscache.Indexers) toolscache.SharedIndexInformer {
			return toolscache.NewSharedIndexInformer(sources[sourceKey(obj)], obj, resync, indexers)
		},
	})
	if err != nil {
		b.Fatalf("create cache: %v", err)
	}
	startCache(b, c)

	return c
}

// startCache adds the index, starts c's informers for DashStreams and HPAs,
// and waits until they hold everything.
func startCache(b *testing.B, c cache.Cache) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	if err := index.Register(ctx, c); err != nil {
		b.Fatal(err)
	}
	for _, o := range []client.Object{&streamingv1alpha1.DashStream{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
		if _, err := c.GetInformer(ctx, o); err != nil {
			b.Fatalf("start informer for %T: %v", o, err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the cache did not sync")
	}
}

// sourceKey names the fake source of an object's type; an informer asks
// for the type with an empty object of it.
func sourceKey(o runtime.Object) string {
	switch o.(type) {
	case *streamingv1alpha1.DashStream:
		return "DashStream"
	case *autoscalingv2.HorizontalPodAutoscaler:
		return "HorizontalPodAutoscaler"
	}

	return ""
}
