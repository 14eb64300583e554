package localcluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// NodeLabelSelector selects the fake nodes this package creates.
	NodeLabelSelector = "type=kwok"

	// nodeReadyTimeout bounds how long kwok may take to mark the nodes Ready.
	nodeReadyTimeout = 2 * time.Minute
)

// startNodes creates the fake nodes and waits until kwok has made them Ready.
func (c *Cluster) startNodes(ctx context.Context) error {
	if c.opts.Nodes == 0 {
		return nil
	}

	cs, err := c.clientset()
	if err != nil {
		return err
	}

	for i := range c.opts.Nodes {
		if err := createNode(ctx, cs, fmt.Sprintf("kwok-node-%d", i)); err != nil {
			return err
		}
	}

	c.progress("created %d fake nodes, waiting for Ready", c.opts.Nodes)
	return c.waitNodesReady(ctx, cs)
}

// createNode registers one node the way a kubelet would, marked for kwok.
func createNode(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(name), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", name, err)
	}

	return nil
}

// fakeNode is a node with room for 110 pods and no kubelet behind it.
func fakeNode(name string) *corev1.Node {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}

	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: resources, Allocatable: resources},
	}
}

// waitNodesReady polls until every fake node is Ready, failing early if kwok
// exits.
func (c *Cluster) waitNodesReady(ctx context.Context, cs kubernetes.Interface) error {
	kwok := c.child("kwok")

	err := poll(ctx, nodeReadyTimeout, func(ctx context.Context) (bool, error) {
		if kwok.exited() {
			return false, errors.New("kwok exited")
		}
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: NodeLabelSelector})
		if err != nil {
			return false, nil
		}
		return countReady(nodes.Items) >= c.opts.Nodes, nil
	})
	if err != nil {
		return kwok.failure("wait for nodes Ready from", err)
	}

	c.progress("%d nodes Ready", c.opts.Nodes)
	return nil
}

// countReady counts nodes whose Ready condition is True.
func countReady(nodes []corev1.Node) int {
	n := 0
	for _, node := range nodes {
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				n++
			}
		}
	}

	return n
}
