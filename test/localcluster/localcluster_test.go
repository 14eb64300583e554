package localcluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/dashflow/dashstream-operator/test/localcluster"
)

// TestDeploymentBecomesAvailable starts a two-node cluster, runs a Deployment
// to Available on kwok's nodes and checks that Stop leaves no process behind.
func TestDeploymentBecomesAvailable(t *testing.T) {
	opts := optionsFromBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start local cluster: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c.Stop()
		}
	})

	children := childProcesses(t)
	if len(children) < 5 {
		t.Fatalf("want etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok running, found %v",
			children)
	}

	runDeployment(ctx, t, c)

	stopped = true
	if err := c.Stop(); err != nil {
		t.Errorf("stop local cluster: %v", err)
	}
	assertAllExited(t, children)
}

// optionsFromBin points the cluster at the links hack/tools.sh makes in bin/,
// skipping the test when they are not there.
func optionsFromBin(t *testing.T) localcluster.Options {
	bin := filepath.Join("..", "..", "bin")
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
		"kwok-stages.yaml"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Skipf("control-plane binaries not built (run hack/tools.sh control-plane kwok): %v", err)
		}
	}

	apiserver, err := filepath.EvalSymlinks(filepath.Join(bin, "kube-apiserver"))
	if err != nil {
		t.Fatalf("resolve bin/kube-apiserver: %v", err)
	}

	return localcluster.Options{
		AssetsDir:  filepath.Dir(apiserver),
		KwokBinary: filepath.Join(bin, "kwok"),
		KwokStages: filepath.Join(bin, "kwok-stages.yaml"),
		Nodes:      2,
		Dir:        t.TempDir(),
		Out:        testWriter{t},
	}
}

// runDeployment creates a one-replica Deployment and waits until it is
// Available with its pod Running on a fake node.
func runDeployment(ctx context.Context, t *testing.T, c *localcluster.Cluster) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}

	deploy, err := cs.AppsV1().Deployments("default").Create(ctx, deployment("x"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}

	last := deploy
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			got, err := cs.AppsV1().Deployments("default").Get(ctx, deploy.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			last = got
			return available(got), nil
		})
	if err != nil {
		t.Fatalf("deployment never became Available with 1 ready replica: %v; last status %+v", err, last.Status)
	}

	assertPodOnFakeNode(ctx, t, cs)
}

// assertPodOnFakeNode checks that the Deployment's pod runs on a kwok node.
func assertPodOnFakeNode(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=x"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}

	if len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning ||
		!strings.HasPrefix(pods.Items[0].Spec.NodeName, "kwok-node-") {
		t.Fatalf("want one Running pod on a kwok node, got %d pods: %+v", len(pods.Items), pods.Items)
	}
}

// deployment is a one-replica Deployment of an image nothing will pull.
func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	replicas := int32(1)

	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: name, Image: "example.com/x:1"}},
				},
			},
		},
	}
}

// available tells whether the Deployment reports Available with a ready pod.
func available(d *appsv1.Deployment) bool {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
			return d.Status.ReadyReplicas == 1
		}
	}

	return false
}

// assertAllExited waits a few seconds for every recorded child to be gone.
func assertAllExited(t *testing.T, children map[int]string) {
	var left map[int]string
	_ = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) {
			left = childProcesses(t)
			return len(left) == 0, nil
		})

	if len(left) > 0 {
		t.Errorf("processes still running after Stop: %v (started: %v)", left, children)
	}
}

// childProcesses lists the processes whose parent is this test, by pid and
// command name, from /proc.
func childProcesses(t *testing.T) map[int]string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}

	self := os.Getpid()
	found := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, ppid, ok := readStat(pid); ok && ppid == self {
			found[pid] = comm
		}
	}

	return found
}

// readStat returns the command name and parent pid of a process.
func readStat(pid int) (string, int, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}

	// The format is "pid (comm) state ppid ...", and comm may hold spaces.
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}

	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 {
		return "", 0, false
	}

	ppid, err := strconv.Atoi(fields[1])
	return s[open+1 : closing], ppid, err == nil
}

// testWriter sends the cluster's progress lines to the test log.
type testWriter struct{ t *testing.T }

// Write logs p as one line.
func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
