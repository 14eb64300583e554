package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

var _ = Describe("An HPA applied before the DashStream that pins its target", func() {
	It("admits the DashStream with a warning; the server stays at 1 while the HPA controller tries", func() {
		ns := "e2e-hpa-" + utilrand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectlWithInput(hpaManifest("events-load", server, 3), "-n", ns, "apply", "-f", "-")

		out := mustKubectl("-n", ns, "apply", "-k", samplesDir())
		Expect(out).To(And(ContainSubstring("Warning:"), ContainSubstring("HorizontalPodAutoscaler events-load")),
			"kubectl apply should show the webhook's warning")

		mustKubectl("-n", ns, "wait", "dstream/events", "--for=condition=AutoscalerConflict", "--timeout=120s")
		msg := mustKubectl("-n", ns, "get", "dstream", "events",
			"-o", `jsonpath={.status.conditions[?(@.type=="AutoscalerConflict")].message}`)
		Expect(msg).To(ContainSubstring("events-load"))

		// minReplicas 3 makes the HPA controller scale up without metrics;
		// the scale webhook refuses it, and the HPA says so.
		Eventually(func() string {
			out, _ := kubectl("-n", ns, "events", "--for", "hpa/events-load")
			return out
		}).Should(And(ContainSubstring("FailedRescale"), ContainSubstring("pins its server to 1 replica")))
		Consistently(func() string {
			out, _ := kubectl("-n", ns, "get", "deployment", server, "-o", "jsonpath={.spec.replicas}")
			return out
		}, 20*time.Second, time.Second).Should(Equal("1"))
	})
})

var _ = Describe("An HPA on a server with a backplane mode", func() {
	It("scales it while it exists; without it, spec.replicas applies again and that is no drift", func() {
		ns := "e2e-scale-" + utilrand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectl("-n", ns, "apply", "-k", samplesDir())
		mustKubectl("-n", ns, "patch", "dstream", "events", "--type=merge",
			"-p", `{"spec":{"backplane":{"mode":"PerPodConsumerGroup"},"replicas":2}}`)
		replicas := func() string {
			out, _ := kubectl("-n", ns, "get", "deployment", server, "-o", "jsonpath={.spec.replicas}")
			return out
		}
		Eventually(replicas).Should(Equal("2"))

		// minReplicas 3 makes the HPA controller scale up without metrics.
		mustKubectlWithInput(hpaManifest("events-load", server, 3), "-n", ns, "apply", "-f", "-")
		Eventually(replicas).Should(Equal("3"), "the HPA controller should scale the server")
		Consistently(replicas, 10*time.Second, time.Second).Should(Equal("3"),
			"the operator must not fight the autoscaler")

		mustKubectl("-n", ns, "delete", "hpa", "events-load")
		Eventually(replicas).Should(Equal("2"), "without the autoscaler, spec.replicas applies again")
		Eventually(func() string {
			out, _ := kubectl("-n", ns, "events", "--for", "dstream/events")
			return out
		}).Should(And(ContainSubstring("ReplicasRestored"), ContainSubstring("go from 3 back to spec.replicas, 2")))
		Expect(mustKubectl("-n", ns, "events", "--for", "dstream/events")).NotTo(ContainSubstring("ReplicasReverted"))
	})
})

var _ = Describe("Autoscaling where no DashStream lives", func() {
	It("keeps working while the operator is down", func() {
		ns := "e2e-plain-" + utilrand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectl("-n", ns, "create", "deployment", "web", "--image=example.com/web:1")

		stopManager()
		DeferCleanup(restartManagerIfStopped)

		mustKubectl("-n", ns, "autoscale", "deployment", "web", "--min=1", "--max=3")
		mustKubectl("-n", ns, "scale", "deployment", "web", "--replicas=2")
		mustKubectlWithInput(hpaManifest("web-v2", "web", 1), "-n", ns, "apply", "-f", "-")
		Expect(mustKubectl("-n", ns, "get", "hpa", "-o", "name")).To(ContainSubstring("web-v2"))
	})
})

var _ = Describe("The operator's manifests", func() {
	It("apply to a cluster under the operator's own service account", func() {
		who := mustKubectl("--kubeconfig", operator.Kubeconfig, "auth", "whoami",
			"-o", "jsonpath={.status.userInfo.username}")
		Expect(who).To(Equal("system:serviceaccount:dashstream-system:dashstream-controller-manager"),
			"the operator should run with exactly the RBAC config/rbac grants")
	})
})

// mustKubectlWithInput runs kubectl with stdin and fails the spec on error.
func mustKubectlWithInput(stdin string, args ...string) string {
	out, err := kubectlWithInput(stdin, args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl %v: %s", args, out)

	return out
}
