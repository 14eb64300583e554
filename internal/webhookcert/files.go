package webhookcert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// certFiles are the Secret keys the webhook server reads, by file name.
var certFiles = []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey}

// SecretFiles copies a certificate Secret into a folder, as the kubelet
// does for a Secret volume. It is for a manager that runs outside the
// cluster (make run, the local cluster), where no kubelet mounts anything.
type SecretFiles struct {
	// Reader reads the Secret; an uncached reader keeps the manager from
	// caching every Secret in the cluster.
	Reader client.Reader
	// Secret is the Secret to copy.
	Secret types.NamespacedName
	// Dir receives tls.crt and tls.key.
	Dir string
	// Interval is how often the Secret is read.
	Interval time.Duration
	// Copied, when set, is closed once both files are in Dir: where nothing
	// else says when the certificate is ready, the webhook server waits
	// for it.
	Copied chan struct{}

	once sync.Once
}

// Start copies the Secret every Interval until ctx ends. It implements
// manager.Runnable and runs on every replica, leader or not.
func (s *SecretFiles) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create webhook certificate folder: %w", err)
	}

	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := s.sync(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Could not copy the webhook certificate Secret to files",
				"secret", s.Secret, "dir", s.Dir)
		}
	}, s.Interval)

	return nil
}

// NeedLeaderElection is false: every replica serves webhooks.
func (s *SecretFiles) NeedLeaderElection() bool {
	return false
}

// sync writes each file whose content differs from the Secret's. A Secret
// still empty (not yet issued) writes nothing.
func (s *SecretFiles) sync(ctx context.Context) error {
	secret := &corev1.Secret{}
	if err := s.Reader.Get(ctx, s.Secret, secret); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("read Secret: %w", err))
	}

	for _, name := range certFiles {
		if len(secret.Data[name]) == 0 {
			return nil
		}
	}

	// The key goes first: a certificate is never read next to an old key
	// for longer than the gap between two renames.
	for _, name := range []string{corev1.TLSPrivateKeyKey, corev1.TLSCertKey} {
		if err := writeIfChanged(filepath.Join(s.Dir, name), secret.Data[name]); err != nil {
			return err
		}
	}

	if s.Copied != nil {
		s.once.Do(func() { close(s.Copied) })
	}

	return nil
}

// writeIfChanged replaces path with data through a rename, so a reader
// sees the old file or the new one, never half of either.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}

	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}

	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}

	return nil
}
