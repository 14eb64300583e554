// Package manifests checks what `make deploy` installs, as kustomize builds
// it, in both certificate set-ups: the operator's built-in rotation and the
// cert-manager component.
package manifests_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
	"github.com/dashflow/dashstream-operator/test/localcluster"
)

const (
	namespace = "dashstream-system"
	secret    = "dashstream-webhook-server-cert"
	service   = "dashstream-webhook-service"
)

var root = filepath.Join("..", "..")

func TestBuiltInRotationWiresTheSecretToTheManager(t *testing.T) {
	objs := build(t, filepath.Join(root, "config", "default"))

	if find(objs, "Secret", secret) == nil {
		t.Errorf("config/default should ship the empty Secret %s the operator fills", secret)
	}
	checkManagerMountsSecret(t, objs)
	checkWebhooks(t, objs)
}

func TestCertManagerComponentReplacesTheBuiltInRotation(t *testing.T) {
	objs := build(t, withCertManager(t))

	if find(objs, "Secret", secret) != nil {
		t.Errorf("with cert-manager, cert-manager owns Secret %s; the manifests must not ship it", secret)
	}
	checkManagerMountsSecret(t, objs)
	checkWebhooks(t, objs)

	cert := find(objs, "Certificate", "dashstream-serving-cert")
	if cert == nil {
		t.Fatal("the cert-manager component should add Certificate dashstream-serving-cert")
	}
	checkCertificate(t, objs, cert)

	vwc := webhookConfiguration(t, objs)
	if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != namespace+"/"+cert.GetName() {
		t.Errorf("cert-manager should inject the CA of %s/%s, annotation is %q", namespace, cert.GetName(), got)
	}

	if args := managerContainer(t, objs).Args; !slices.Contains(args, "--webhook-cert-rotation=false") {
		t.Errorf("with cert-manager the operator must not rotate the certificate itself; args %v", args)
	}
}

// checkCertificate checks that the Certificate is issued by an Issuer the
// manifests ship, into the mounted Secret, for the webhook Service's names.
func checkCertificate(t *testing.T, objs []*unstructured.Unstructured, cert *unstructured.Unstructured) {
	t.Helper()
	issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	if find(objs, "Issuer", issuer) == nil {
		t.Errorf("Certificate names Issuer %q, which the manifests do not contain", issuer)
	}

	if name, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); name != secret {
		t.Errorf("Certificate writes Secret %q, the manager mounts %q", name, secret)
	}

	names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if want := service + "." + namespace + ".svc"; !slices.Contains(names, want) {
		t.Errorf("Certificate dnsNames %v lack %s, the name the API server calls", names, want)
	}
}

// checkManagerMountsSecret checks the manager reads the certificate Secret
// where the webhook server looks for it.
func checkManagerMountsSecret(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	dep := &appsv1.Deployment{}
	convert(t, find(objs, "Deployment", "dashstream-controller-manager"), dep)

	var volume string
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			volume = v.Name
		}
	}
	if volume == "" {
		t.Fatalf("the manager should mount Secret %s; volumes %+v", secret, dep.Spec.Template.Spec.Volumes)
	}

	for _, m := range managerContainer(t, objs).VolumeMounts {
		if m.Name == volume && m.MountPath == "/tmp/k8s-webhook-server/serving-certs" && m.ReadOnly {
			return
		}
	}
	t.Errorf("volume %s should be mounted read-only where the webhook server reads its certificate", volume)
}

// checkWebhooks checks what DESIGN's admission table asks of every webhook.
func checkWebhooks(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	vwc := webhookConfiguration(t, objs)
	if len(vwc.Webhooks) != 4 {
		t.Fatalf("want the HPA, scale, Deployment and DashStream webhooks, got %d", len(vwc.Webhooks))
	}

	for _, w := range vwc.Webhooks {
		checkWebhook(t, w)
	}
}

func checkWebhook(t *testing.T, w admissionregistrationv1.ValidatingWebhook) {
	t.Helper()
	if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("%s: sideEffects must be None, so server-side dry runs get the same answer", w.Name)
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds > 5 {
		t.Errorf("%s: timeoutSeconds must be a few seconds", w.Name)
	}
	if s := w.ClientConfig.Service; s == nil || s.Name != service || s.Namespace != namespace {
		t.Errorf("%s: should call Service %s/%s, calls %+v", w.Name, namespace, service, s)
	}
	if !excludes(w, "kube-system") || !excludes(w, namespace) {
		t.Errorf("%s: must leave kube-system and %s alone", w.Name, namespace)
	}

	failClosedHPA := w.Name == "hpa.streaming.dashflow.io"
	if failClosedHPA && !selectsLabelledNamespaces(w) {
		t.Errorf("%s fails closed, so it must select only namespaces labelled %s=true",
			w.Name, streamingv1alpha1.NamespaceLabel)
	}
}

func excludes(w admissionregistrationv1.ValidatingWebhook, ns string) bool {
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == corev1.LabelMetadataName && e.Operator == "NotIn" && slices.Contains(e.Values, ns) {
			return true
		}
	}

	return false
}

func selectsLabelledNamespaces(w admissionregistrationv1.ValidatingWebhook) bool {
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == streamingv1alpha1.NamespaceLabel && e.Operator == "In" && slices.Equal(e.Values, []string{"true"}) {
			return true
		}
	}

	return false
}

func webhookConfiguration(t *testing.T,
	objs []*unstructured.Unstructured) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	convert(t, find(objs, "ValidatingWebhookConfiguration", "dashstream-validating-webhook-configuration"), vwc)

	return vwc
}

func managerContainer(t *testing.T, objs []*unstructured.Unstructured) corev1.Container {
	t.Helper()
	dep := &appsv1.Deployment{}
	convert(t, find(objs, "Deployment", "dashstream-controller-manager"), dep)

	return dep.Spec.Template.Spec.Containers[0]
}

// withCertManager copies config/ and enables the cert-manager component in
// config/default, as its comment tells a user to.
func withCertManager(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "config"), os.DirFS(filepath.Join(root, "config"))); err != nil {
		t.Fatalf("copy config: %v", err)
	}

	path := filepath.Join(dir, "config", "default", "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	enabled := strings.Replace(string(data), "#components:\n#- ../certmanager", "components:\n- ../certmanager", 1)
	if enabled == string(data) {
		t.Fatal("config/default/kustomization.yaml no longer carries the commented cert-manager component")
	}
	if err := os.WriteFile(path, []byte(enabled), 0o600); err != nil {
		t.Fatal(err)
	}

	return filepath.Join(dir, "config", "default")
}

// build runs bin/kustomize, which `make test` builds, on dir.
func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "bin", "kustomize"), "build", dir).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("kustomize build %s: %v: %s", dir, err, exit.Stderr)
	}
	if err != nil {
		t.Fatalf("kustomize build %s (run through `make test`, which builds bin/kustomize): %v", dir, err)
	}

	objs, err := localcluster.DecodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}

	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}

	return nil
}

func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if u == nil {
		t.Fatalf("object for %T not found in the manifests", into)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("convert %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}
