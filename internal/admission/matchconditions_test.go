package admission_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/dashflow/dashstream-operator/internal/render"
)

// TestMatchConditionsUseTheServersNameSuffix ties the name in the HPA and
// scale webhooks' match conditions, written into the kubebuilder markers,
// to the name the operator gives every server. Were they to part, the API
// server would stop sending those webhooks any server at all.
func TestMatchConditionsUseTheServersNameSuffix(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	vwc := admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.Unmarshal(raw, &vwc); err != nil {
		t.Fatalf("decode config/webhook/manifests.yaml: %v", err)
	}

	suffix := "'" + render.ServerObjectName("") + "'"
	want := map[string]string{
		"hpa.streaming.dashflow.io":   "object.spec.scaleTargetRef.name.endsWith(" + suffix + ")",
		"scale.streaming.dashflow.io": "request.name.endsWith(" + suffix + ")",
	}
	for _, hook := range vwc.Webhooks {
		expr, ok := want[hook.Name]
		if !ok {
			continue
		}
		delete(want, hook.Name)
		if len(hook.MatchConditions) != 1 || strings.TrimSpace(hook.MatchConditions[0].Expression) != expr {
			t.Errorf("webhook %s: match conditions %+v, want the one expression %s", hook.Name,
				hook.MatchConditions, expr)
		}
	}
	for name := range want {
		t.Errorf("webhook %s is missing from config/webhook/manifests.yaml", name)
	}
}
