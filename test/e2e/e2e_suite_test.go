// Package e2e runs the operator binary against a local cluster of real
// control-plane binaries whose nodes and pods kwok simulates, and checks
// what a user would see through kubectl.
package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/dashflow/dashstream-operator/controllers"
	"github.com/dashflow/dashstream-operator/test/localcluster"
)

var (
	root       = filepath.Join("..", "..")
	bin        = filepath.Join(root, "bin")
	cluster    *localcluster.Cluster
	operator   *localcluster.Operator
	k8sClient  client.Client
	manager    *exec.Cmd
	managerLog *os.File
	ctx        = context.Background()

	// keepDir keeps the cluster's folder, logs included, after a failure:
	// of the suite's set-up, or of any spec.
	keepDir bool
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "DashStream operator end to end (local cluster)")
}

var _ = BeforeSuite(func() {
	dir, err := os.MkdirTemp("", "dashstream-e2e-")
	Expect(err).NotTo(HaveOccurred())
	keepDir = true

	cluster, err = localcluster.Start(ctx, localcluster.Options{
		AssetsDir:  assetsDir(),
		KwokBinary: filepath.Join(bin, "kwok"),
		KwokStages: filepath.Join(bin, "kwok-stages.yaml"),
		Nodes:      2,
		Dir:        dir,
		Out:        GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred(), "start the local cluster; `make test` builds its binaries")
	DeferCleanup(func() {
		Expect(cluster.Stop()).To(Succeed())
		if !keepDir {
			Expect(os.RemoveAll(dir)).To(Succeed())
		}
	})

	_, err = envtest.InstallCRDs(cluster.Config, envtest.CRDInstallOptions{
		Paths: []string{
			filepath.Join(bin, "crds", "monitoring", "monitoring.coreos.com_prometheusrules.yaml"),
			filepath.Join(bin, "crds", "monitoring", "monitoring.coreos.com_servicemonitors.yaml"),
		},
		ErrorIfPathMissing: true,
	})
	Expect(err).NotTo(HaveOccurred())

	scheme, err := controllers.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	absRoot, err := filepath.Abs(root)
	Expect(err).NotTo(HaveOccurred())
	operator, err = localcluster.InstallOperator(ctx, cluster.Config,
		localcluster.OperatorOptions{Root: absRoot, Dir: filepath.Join(dir, "operator")})
	Expect(err).NotTo(HaveOccurred(), "install config/default; `make test` builds bin/kustomize")

	seedExpiredCertificate()

	managerLog, err = os.Create(filepath.Join(dir, "manager.log"))
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("operator log: %s\n", managerLog.Name())
	DeferCleanup(func() {
		stopManager()
		_ = managerLog.Close()
	})

	startManager()
	keepDir = false
})

// assetsDir is the folder of the control-plane binaries: the Makefile
// passes it as KUBEBUILDER_ASSETS, and bin/ links to it otherwise.
func assetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}

	target, err := filepath.EvalSymlinks(filepath.Join(bin, "kube-apiserver"))
	Expect(err).NotTo(HaveOccurred(), "bin/kube-apiserver missing: run `make test`")

	return filepath.Dir(target)
}

// startManager runs the operator binary that `make build` wrote, under the
// operator's service account, and waits until it is ready, webhooks
// included.
func startManager() {
	GinkgoHelper()
	manager = operator.Command(filepath.Join(bin, "manager"), managerLog, "--zap-log-level=debug")
	Expect(manager.Start()).To(Succeed(), "start bin/manager; `make test` builds it")

	Eventually(func() (int, error) {
		resp, err := http.Get(operator.ReadyURL)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()

		return resp.StatusCode, nil
	}).Should(Equal(http.StatusOK), "the operator should become ready; see its log")
}

// stopManager stops the operator, as an outage or an upgrade would.
func stopManager() {
	if manager == nil || manager.ProcessState != nil {
		return
	}

	_ = manager.Process.Signal(os.Interrupt)
	_ = manager.Wait()
}

// kubectl runs bin/kubectl against the local cluster as its admin, a user
// other than the operator, and returns its combined output.
func kubectl(args ...string) (string, error) {
	return kubectlWithInput("", args...)
}

// kubectlWithInput runs kubectl with stdin, for `apply -f -`.
func kubectlWithInput(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()

	return strings.TrimSpace(string(out)), err
}

// mustKubectl runs kubectl and fails the spec, with its output, on error.
func mustKubectl(args ...string) string {
	out, err := kubectl(args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)

	return out
}

// A failed spec prints what a person debugging it would look at first: the
// cluster's workloads and events, every DashStream, and the last lines of
// the operator's and the control plane's logs. CI keeps nothing else.
var _ = AfterEach(func() {
	if !CurrentSpecReport().Failed() {
		return
	}
	keepDir = true

	for _, args := range [][]string{
		{"get", "nodes,deployments,replicasets,pods,poddisruptionbudgets,hpa", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"get", "dashstreams", "-A", "-o", "yaml"},
	} {
		out, _ := kubectl(args...)
		GinkgoWriter.Printf("$ kubectl %s\n%s\n\n", strings.Join(args, " "), out)
	}
	GinkgoWriter.Printf("--- last lines of the operator log:\n%s\n\n%s\n", tail(managerLog.Name(), 60),
		cluster.LogTails())
	GinkgoWriter.Printf("The cluster's folder, with every log, is kept: %s\n", filepath.Dir(managerLog.Name()))
})

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")

	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
