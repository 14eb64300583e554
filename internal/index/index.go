// Package index declares the cache index that the reconciler and the
// DashStream webhook share: HorizontalPodAutoscalers by the Deployment they
// scale. Both ask which autoscalers target one server; with the index, the
// answer costs a map lookup instead of a walk over every HPA in the
// namespace.
package index

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dashflow/dashstream-operator/internal/policy"
)

// HPAsByDeployment indexes HorizontalPodAutoscalers by the name of the
// Deployment they scale; an HPA aimed at another kind has no entry.
const HPAsByDeployment = "spec.scaleTargetRef.deploymentName"

// Register adds the index to the cache behind indexer. Register it once
// per manager, before the manager starts.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &autoscalingv2.HorizontalPodAutoscaler{}, HPAsByDeployment, ScaledDeployment)
	if err != nil {
		return fmt.Errorf("index HorizontalPodAutoscalers by Deployment: %w", err)
	}

	return nil
}

// ScaledDeployment is the index's function: the name of the Deployment
// that o, an autoscaling/v2 HPA, scales, if its target is a Deployment
// under any apiVersion spelling the API server accepts.
func ScaledDeployment(o client.Object) []string {
	hpa, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}

	ref := hpa.Spec.ScaleTargetRef
	if !policy.IsDeployment(ref.APIVersion, ref.Kind) {
		return nil
	}

	return []string{ref.Name}
}

// Targeting is the list option that selects the HPAs scaling Deployment
// name.
func Targeting(name string) client.MatchingFields {
	return client.MatchingFields{HPAsByDeployment: name}
}
