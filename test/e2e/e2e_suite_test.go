// Package e2e runs the operator binary against a local cluster of real
// control-plane binaries whose nodes and pods kwok simulates, and checks
// what a user would see through kubectl.
package e2e

import (
	"context"
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
	root      = filepath.Join("..", "..")
	bin       = filepath.Join(root, "bin")
	cluster   *localcluster.Cluster
	k8sClient client.Client
	manager   *exec.Cmd
	ctx       = context.Background()
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

	cluster, err = localcluster.Start(ctx, localcluster.Options{
		AssetsDir:  assetsDir(),
		KwokBinary: filepath.Join(bin, "kwok"),
		KwokStages: filepath.Join(bin, "kwok-stages.yaml"),
		Nodes:      2,
		Dir:        dir,
		Out:        GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred(), "start the local cluster; `make test` builds its binaries")
	DeferCleanup(func() { Expect(cluster.Stop()).To(Succeed()) })

	_, err = envtest.InstallCRDs(cluster.Config, envtest.CRDInstallOptions{
		Paths: []string{
			filepath.Join(root, "config", "crd", "bases"),
			filepath.Join(bin, "crds", "monitoring", "monitoring.coreos.com_prometheusrules.yaml"),
		},
		ErrorIfPathMissing: true,
	})
	Expect(err).NotTo(HaveOccurred())

	scheme, err := controllers.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	startManager(dir)
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

// startManager runs the operator binary that `make build` wrote, as a user
// would run it, and stops it after the suite.
func startManager(dir string) {
	logFile, err := os.Create(filepath.Join(dir, "manager.log"))
	Expect(err).NotTo(HaveOccurred())

	manager = exec.Command(filepath.Join(bin, "manager"),
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0", "--zap-log-level=debug")
	manager.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig)
	manager.Stdout, manager.Stderr = logFile, logFile
	Expect(manager.Start()).To(Succeed(), "start bin/manager; `make test` builds it")
	GinkgoWriter.Printf("operator log: %s\n", logFile.Name())

	DeferCleanup(func() {
		_ = manager.Process.Signal(os.Interrupt)
		_, _ = manager.Process.Wait()
		_ = logFile.Close()
	})
}

// kubectl runs bin/kubectl against the local cluster and returns its
// combined output.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()

	return strings.TrimSpace(string(out)), err
}

// mustKubectl runs kubectl and fails the spec, with its output, on error.
func mustKubectl(args ...string) string {
	out, err := kubectl(args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)

	return out
}
