package admission_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/internal/policy"
	"github.com/dashflow/dashstream-operator/internal/render"
)

// The oracles below judge a handler's answer without its typed decoding:
// they read the request's object as plain JSON, pick out the fields the
// decision rests on and ask internal/policy, with the DashStreams and HPAs
// of the world the handler's reader holds. Each returns nil when the answer
// is acceptable; an allow the oracle would not give is an error.

// world is what the webhooks' reader holds, as the oracles see it.
type world struct {
	dashStreams []*streamingv1alpha1.DashStream
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

func newWorld(objs []client.Object) world {
	var w world
	for _, obj := range objs {
		switch o := obj.(type) {
		case *streamingv1alpha1.DashStream:
			w.dashStreams = append(w.dashStreams, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			w.hpas = append(w.hpas, o)
		}
	}

	return w
}

// pinnedBy returns the pinned DashStream in ns whose server Deployment the
// scale target names, or nil.
func (w world) pinnedBy(ns, apiVersion, kind, name string) *streamingv1alpha1.DashStream {
	for _, ds := range w.dashStreams {
		server := render.ServerObjectName(ds.Name)
		if ds.Namespace == ns && policy.Pinned(ds) && policy.TargetsDeployment(apiVersion, kind, name, server) {
			return ds
		}
	}

	return nil
}

// judgeHPA accepts an allow only for an HPA that does not aim at a pinned
// server, or an update that leaves the spec as it was.
func (w world) judgeHPA(req admission.Request, resp admission.Response) error {
	if !resp.Allowed {
		return nil
	}
	if req.Kind != kindHPAv1 && req.Kind != kindHPAv2 {
		return fmt.Errorf("allowed a request for %s", req.Kind)
	}
	obj, err := readObject(req.Object.Raw, req.Kind)
	if err != nil {
		return fmt.Errorf("allowed an object it cannot have read: %w", err)
	}

	if req.Operation == admissionv1.Update {
		old, err := readObject(req.OldObject.Raw, req.Kind)
		if err != nil {
			return fmt.Errorf("allowed an update whose old object it cannot have read: %w", err)
		}
		if reflect.DeepEqual(normalize(old["spec"]), normalize(obj["spec"])) {
			return nil
		}
	}

	return w.judgeTarget(req.Namespace, obj)
}

func (w world) judgeTarget(ns string, hpa object) error {
	var ref [3]string
	for i, field := range []string{"apiVersion", "kind", "name"} {
		v, err := hpa.str("spec", "scaleTargetRef", field)
		if err != nil {
			return fmt.Errorf("allowed an HPA whose target it cannot have read: %w", err)
		}
		ref[i] = v
	}

	if ds := w.pinnedBy(ns, ref[0], ref[1], ref[2]); ds != nil {
		return fmt.Errorf("allowed an HPA aimed at %s %s, which DashStream %s pins", ref[0], ref[2], ds.Name)
	}

	return nil
}

// judgeScale accepts an allow only for a scale the policy allows.
func (w world) judgeScale(req admission.Request, resp admission.Response) error {
	if !resp.Allowed {
		return nil
	}
	if req.SubResource != "scale" || req.Kind != kindScale {
		return fmt.Errorf("allowed a request for %s, subresource %q", req.Kind, req.SubResource)
	}
	obj, err := readObject(req.Object.Raw, req.Kind)
	if err != nil {
		return fmt.Errorf("allowed an object it cannot have read: %w", err)
	}
	n, _, err := obj.int32At("spec", "replicas")
	if err != nil {
		return fmt.Errorf("allowed a Scale whose replicas it cannot have read: %w", err)
	}

	return w.judgeReplicas(req.Namespace, req.Name, n)
}

func (w world) judgeReplicas(ns, deployment string, n int32) error {
	ds := w.pinnedBy(ns, "apps/v1", "Deployment", deployment)
	if ds != nil && policy.CheckReplicas(ds, n) != nil {
		return fmt.Errorf("allowed %d replicas of %s, which DashStream %s pins", n, deployment, ds.Name)
	}

	return nil
}

// judgeDeployment accepts an allow of a replicas change only from the
// operator, or where the policy allows the new count.
func (w world) judgeDeployment(req admission.Request, resp admission.Response) error {
	if !resp.Allowed {
		return nil
	}
	if req.Kind != kindDeployment {
		return fmt.Errorf("allowed a request for %s", req.Kind)
	}
	before, err := deploymentReplicas(req.OldObject.Raw)
	if err != nil {
		return fmt.Errorf("allowed an update whose old object it cannot have read: %w", err)
	}
	after, err := deploymentReplicas(req.Object.Raw)
	if err != nil {
		return fmt.Errorf("allowed an object it cannot have read: %w", err)
	}
	if before == after || req.UserInfo.Username == operatorUser {
		return nil
	}

	return w.judgeReplicas(req.Namespace, req.Name, after)
}

// deploymentReplicas reads spec.replicas, 1 when unset as the API server
// defaults it.
func deploymentReplicas(raw []byte) (int32, error) {
	obj, err := readObject(raw, kindDeployment)
	if err != nil {
		return 0, err
	}
	n, set, err := obj.int32At("spec", "replicas")
	if !set {
		n = 1
	}

	return n, err
}

// judgeDashStream accepts any allow, but a pinned DashStream whose server
// an HPA already targets must be warned about, naming every such HPA, and
// no other. A request without a namespace is not judged: the API server
// never sends one for a namespaced kind, and the handler would then look
// for HPAs in every namespace.
func (w world) judgeDashStream(req admission.Request, resp admission.Response) error {
	if !resp.Allowed || req.Namespace == "" {
		return nil
	}
	if req.Kind != kindDashStream {
		return fmt.Errorf("allowed a request for %s", req.Kind)
	}
	obj, err := readObject(req.Object.Raw, req.Kind)
	if err != nil {
		return fmt.Errorf("allowed an object it cannot have read: %w", err)
	}
	ds, err := obj.dashStream(req.Namespace)
	if err != nil {
		return fmt.Errorf("allowed a DashStream it cannot have read: %w", err)
	}

	return expectWarnings(resp.Warnings, w.conflicts(ds))
}

// conflicts returns the HPAs that target ds's server while ds pins it.
func (w world) conflicts(ds *streamingv1alpha1.DashStream) []string {
	if !policy.Pinned(ds) {
		return nil
	}
	var names []string
	for _, hpa := range w.hpas {
		ref := hpa.Spec.ScaleTargetRef
		server := render.ServerObjectName(ds.Name)
		if hpa.Namespace == ds.Namespace && policy.TargetsDeployment(ref.APIVersion, ref.Kind, ref.Name, server) {
			names = append(names, hpa.Name)
		}
	}

	return names
}

func expectWarnings(warnings, hpas []string) error {
	all := strings.Join(warnings, "\n")
	if len(hpas) == 0 && all != "" {
		return fmt.Errorf("warned %q where no HPA conflicts", all)
	}
	for _, name := range hpas {
		if !strings.Contains(all, "HorizontalPodAutoscaler "+name) {
			return fmt.Errorf("allowed without warning about HorizontalPodAutoscaler %s, got %q", name, all)
		}
	}

	return nil
}

// object is a request's object as plain JSON.
type object map[string]any

// readObject parses raw as a JSON object, numbers kept as written. Its
// apiVersion and kind must be want's once defaulted as apimachinery's
// decoder defaults them from the type it decodes into: the API server
// sends nothing else.
func readObject(raw []byte, want metav1.GroupVersionKind) (object, error) {
	obj := object{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode((*map[string]any)(&obj)); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	apiVersion, err := obj.str("apiVersion")
	if err != nil {
		return nil, err
	}
	kind, err := obj.str("kind")
	if err != nil {
		return nil, err
	}

	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}

	if defaulted(gv, want) != (schema.GroupVersion{Group: want.Group, Version: want.Version}) ||
		(kind != "" && kind != want.Kind) {
		return nil, fmt.Errorf("object of %s %s, not %s", apiVersion, kind, want)
	}

	return obj, nil
}

// defaulted fills in gv as apimachinery's decoder does: both group and
// version when neither is set, the version alone when the group is want's.
func defaulted(gv schema.GroupVersion, want metav1.GroupVersionKind) schema.GroupVersion {
	if gv.Version == "" && (gv.Group == "" || gv.Group == want.Group) {
		return schema.GroupVersion{Group: want.Group, Version: want.Version}
	}

	return gv
}

// str returns the string at path: "" when a step is absent or null, an
// error when a step is not an object or the value not a string.
func (o object) str(path ...string) (string, error) {
	v, err := o.at(path)
	if v == nil || err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is %T, not a string", strings.Join(path, "."), v)
	}

	return s, nil
}

// int32At returns the integer at path and whether it is set.
func (o object) int32At(path ...string) (int32, bool, error) {
	v, err := o.at(path)
	if v == nil || err != nil {
		return 0, false, err
	}
	num, _ := v.(json.Number)
	n, err := strconv.ParseInt(string(num), 10, 32)
	if err != nil {
		return 0, true, fmt.Errorf("%s is %v, not a 32-bit integer", strings.Join(path, "."), v)
	}

	return int32(n), true, nil
}

func (o object) at(path []string) (any, error) {
	var v any = map[string]any(o)
	for i, step := range path {
		if v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is %T, not an object", strings.Join(path[:i], "."), v)
		}
		v = m[step]
	}

	return v, nil
}

// dashStream is the part of a DashStream the policy reads.
func (o object) dashStream(ns string) (*streamingv1alpha1.DashStream, error) {
	name, err := o.str("metadata", "name")
	if err != nil {
		return nil, err
	}
	mode, err := o.str("spec", "backplane", "mode")
	if err != nil {
		return nil, err
	}

	ds := &streamingv1alpha1.DashStream{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	ds.Spec.Backplane = &streamingv1alpha1.BackplaneSpec{Mode: streamingv1alpha1.BackplaneMode(mode)}

	return ds, nil
}

// normalize drops what a typed object cannot tell from absence: nulls,
// empty strings, zeros, false and empty lists. Two specs equal after
// normalize hold the same settings.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if e = normalize(e); e != nil {
				out[k] = e
			}
		}

		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}

		return out
	case json.Number:
		if f, err := t.Float64(); err == nil && f == 0 {
			return nil
		}
	case string, bool:
		if reflect.ValueOf(t).IsZero() {
			return nil
		}
	}

	return v
}

// hasDuplicateKeys reports whether some JSON object in raw names a key
// twice. A typed decoder merges the two, a map keeps the last, so the
// oracles cannot judge such objects; the API server never sends them, as
// it encodes every object it passes to a webhook itself.
func hasDuplicateKeys(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dup, err := scanValue(dec)

	return dup && err == nil
}

func scanValue(dec *json.Decoder) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch tok {
	case json.Delim('{'):
		return scanObject(dec)
	case json.Delim('['):
		return scanArray(dec)
	}

	return false, nil
}

func scanObject(dec *json.Decoder) (bool, error) {
	var keys []string
	dup := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		key, _ := tok.(string)
		dup = dup || slices.Contains(keys, key)
		keys = append(keys, key)

		inner, err := scanValue(dec)
		if err != nil {
			return false, err
		}
		dup = dup || inner
	}
	_, err := dec.Token()

	return dup, err
}

func scanArray(dec *json.Decoder) (bool, error) {
	dup := false
	for dec.More() {
		inner, err := scanValue(dec)
		if err != nil {
			return false, err
		}
		dup = dup || inner
	}
	_, err := dec.Token()

	return dup, err
}
