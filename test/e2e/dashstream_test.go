package e2e

import (
	"fmt"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	streamingv1alpha1 "github.com/dashflow/dashstream-operator/api/v1alpha1"
)

const server = "events-websocket-server"

var _ = Describe("The sample DashStream on a local cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		ns = "e2e-" + rand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectl("-n", ns, "apply", "-k", samplesDir())
	})

	It("becomes Ready once its pod really runs, and kstatus reads it as Current", func() {
		mustKubectl("-n", ns, "wait", "dstream/events", "--for=condition=Ready", "--timeout=180s")

		pods := mustKubectl("-n", ns, "get", "pods", "-l", "streaming.dashflow.io/dashstream=events",
			"-o", "jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName}{\"\\n\"}{end}")
		Expect(strings.Split(pods, "\n")).To(ConsistOf(MatchRegexp(`^Running/\S+$`)),
			"exactly one server pod should run on a node")

		Expect(kstatusOf(ns, "events")).To(Equal(status.CurrentStatus))
		Expect(mustKubectl("-n", ns, "get", "dstream", "events")).To(MatchRegexp(`events\s+None\s+1\s+True`),
			"kubectl get should show mode, replicas and Ready")
	})

	It("has its Deployment, Service, PDB and PrometheusRule", func() {
		for _, kind := range []string{"deployment", "service", "poddisruptionbudget", "prometheusrule"} {
			mustKubectl("-n", ns, "get", kind, server)
		}
	})

	It("denies kubectl scale of the pinned server, saying why and what to do instead", func() {
		out, err := kubectl("-n", ns, "scale", "deployment/"+server, "--replicas=2")
		Expect(err).To(HaveOccurred(), "kubectl scale should be denied: %s", out)
		Expect(out).To(And(ContainSubstring("may not be scaled to 2"), ContainSubstring("DashStream "+ns+"/events"),
			ContainSubstring("partial streams"), ContainSubstring("spec.backplane.mode")))
	})

	It("denies a user's kubectl patch of the pinned server's replicas", func() {
		out, err := kubectl("-n", ns, "patch", "deployment", server, "--type=merge", "-p", `{"spec":{"replicas":3}}`)
		Expect(err).To(HaveOccurred(), "the patch should be denied: %s", out)
		Expect(out).To(ContainSubstring("may not run 3 replicas"))

		mustKubectl("-n", ns, "annotate", "deployment", server, "team=streaming")
		mustKubectl("-n", ns, "rollout", "restart", "deployment/"+server)
	})

	It("denies an HPA for the pinned server, with a server-side dry run giving the same answer", func() {
		out, err := kubectlWithInput(hpaManifest("events-load", server, 1), "-n", ns, "apply", "-f", "-")
		Expect(err).To(HaveOccurred(), "the HPA should be denied: %s", out)
		Expect(out).To(And(ContainSubstring("may not target Deployment "+server),
			ContainSubstring("spec.backplane.mode")))

		out, err = kubectlWithInput(hpaManifest("events-load", server, 1),
			"-n", ns, "apply", "--dry-run=server", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("may not target Deployment " + server))
		Expect(mustKubectl("-n", ns, "get", "hpa", "--ignore-not-found", "-o", "name")).To(BeEmpty())

		out, err = kubectlWithInput(hpaManifest("checkout-load", "checkout", 1), "-n", ns, "apply", "--dry-run=server",
			"-f", "-")
		Expect(err).NotTo(HaveOccurred(), "an HPA aimed elsewhere should pass: %s", out)
		Expect(out).To(ContainSubstring("(server dry run)"))
	})

	It("reverts a scale made while the operator was down, and says so in an Event", func() {
		stopManager()
		DeferCleanup(restartManagerIfStopped)

		// The scale webhook fails open, so with the operator down the scale
		// goes through; the operator reverts it when it is back.
		mustKubectl("-n", ns, "scale", "deployment/"+server, "--replicas=3")
		Expect(mustKubectl("-n", ns, "get", "deployment", server, "-o", "jsonpath={.spec.replicas}")).To(Equal("3"))
		startManager()

		Eventually(func() string {
			out, _ := kubectl("-n", ns, "get", "deployment", server, "-o", "jsonpath={.spec.replicas}")
			return out
		}).Should(Equal("1"))
		Eventually(func() string {
			out, _ := kubectl("-n", ns, "events", "--for", "dstream/events")
			return out
		}).Should(And(ContainSubstring("ReplicasReverted"), ContainSubstring("scaled to 3")))
		Eventually(runningPods).WithArguments(ns).Should(Equal(1), "the extra pods should be gone")
	})

	It("lets kubectl drain the server's node, with the PDB in place", func() {
		node := mustKubectl("-n", ns, "get", "pods", "-l", "streaming.dashflow.io/dashstream=events",
			"--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].spec.nodeName}")
		Expect(node).NotTo(BeEmpty())
		DeferCleanup(func() { _, _ = kubectl("uncordon", node) })

		out, err := kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s")
		Expect(err).NotTo(HaveOccurred(), "drain should not be blocked by the PDB: %s", out)

		mustKubectl("-n", ns, "wait", "dstream/events", "--for=condition=Ready", "--timeout=180s")
		moved := mustKubectl("-n", ns, "get", "pods", "-l", "streaming.dashflow.io/dashstream=events",
			"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].spec.nodeName}")
		Expect(moved).NotTo(BeEmpty())
		Expect(moved).NotTo(Equal(node), "the server should run elsewhere after the drain")
	})

	It("garbage-collects every child when the DashStream is deleted", func() {
		mustKubectl("-n", ns, "delete", "dstream", "events", "--wait=true", "--timeout=60s")

		for _, kind := range []string{"deployment", "service", "poddisruptionbudget", "prometheusrule"} {
			Eventually(func() string {
				out, _ := kubectl("-n", ns, "get", kind, server, "--ignore-not-found", "-o", "name")
				return out
			}).Should(BeEmpty(), "the garbage collector should delete the %s", kind)
		}
	})
})

var _ = Describe("A DashStream whose Secret is missing", func() {
	It("is Stalled, which kstatus reads as Failed, until the Secret exists", func() {
		ns := "e2e-" + rand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectl("-n", ns, "apply", "-f", filepath.Join(samplesDir(), "streaming_v1alpha1_dashstream.yaml"))

		Eventually(kstatusOf).WithArguments(ns, "events").Should(Equal(status.FailedStatus))
		msg := mustKubectl("-n", ns, "get", "dstream", "events",
			"-o", `jsonpath={.status.conditions[?(@.type=="Stalled")].message}`)
		Expect(msg).To(ContainSubstring("kafka-sasl"))

		mustKubectl("-n", ns, "apply", "-f", filepath.Join(root, "config", "samples", "kafka-credentials.yaml"))
		Eventually(kstatusOf).WithArguments(ns, "events").Should(Equal(status.CurrentStatus))
	})
})

// kstatusOf computes the DashStream's status as kstatus (Flux, kpt,
// cli-utils) sees it.
func kstatusOf(ns, name string) (status.Status, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(streamingv1alpha1.GroupVersion.WithKind("DashStream"))
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return "", fmt.Errorf("get DashStream: %w", err)
	}

	res, err := status.Compute(u)
	if err != nil {
		return "", fmt.Errorf("compute kstatus: %w", err)
	}

	return res.Status, nil
}

func runningPods(ns string) int {
	out, _ := kubectl("-n", ns, "get", "pods", "-l", "streaming.dashflow.io/dashstream=events",
		"--field-selector=status.phase=Running", "-o", "name")
	if out == "" {
		return 0
	}

	return len(strings.Split(out, "\n"))
}

// samplesDir is config/samples, which the README tells users to apply.
func samplesDir() string {
	return filepath.Join(root, "config", "samples")
}

// hpaManifest is an autoscaling/v2 HPA for a Deployment, as a user would
// write it.
func hpaManifest(name, target string, minReplicas int) string {
	return fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: %s
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: %s
  minReplicas: %d
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 80
`, name, target, minReplicas)
}

// restartManagerIfStopped starts the operator again after a spec stopped it.
func restartManagerIfStopped() {
	if manager.ProcessState != nil {
		startManager()
	}
}
