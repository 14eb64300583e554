package render

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// sameShape copies a typed API value into its apply configuration. Both
// share one JSON schema by construction, so the round trip only fails on a
// programming error, which it reports by panicking.
func sameShape[T any](in any) *T {
	raw, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("render: marshal %T: %v", in, err))
	}

	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		panic(fmt.Sprintf("render: unmarshal into %T: %v", out, err))
	}

	return out
}

func toleration(t *corev1.Toleration) *corev1ac.TolerationApplyConfiguration {
	return sameShape[corev1ac.TolerationApplyConfiguration](t)
}

func affinity(a *corev1.Affinity) *corev1ac.AffinityApplyConfiguration {
	return sameShape[corev1ac.AffinityApplyConfiguration](a)
}
