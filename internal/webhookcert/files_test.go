package webhookcert

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var key = types.NamespacedName{Namespace: "dashstream-system", Name: "cert"}

func TestSyncWritesNothingUntilTheCertificateIsIssued(t *testing.T) {
	dir := t.TempDir()
	copied := make(chan struct{})
	s := &SecretFiles{Reader: reader(t, map[string][]byte{}), Secret: key, Dir: dir, Copied: copied}

	if err := s.sync(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}

	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("an empty Secret must leave the folder empty, found %v", entries)
	}
	select {
	case <-copied:
		t.Error("Copied must stay open until the files are there")
	default:
	}
}

func TestSyncCopiesTheCertificateAndItsRenewal(t *testing.T) {
	dir := t.TempDir()
	c := reader(t, map[string][]byte{"tls.crt": []byte("cert-1"), "tls.key": []byte("key-1")})
	copied := make(chan struct{})
	s := &SecretFiles{Reader: c, Secret: key, Dir: dir, Copied: copied}

	if err := s.sync(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
	expectFile(t, filepath.Join(dir, "tls.crt"), "cert-1")
	expectFile(t, filepath.Join(dir, "tls.key"), "key-1")
	select {
	case <-copied:
	default:
		t.Error("Copied should be closed once the files are there")
	}

	secret := &corev1.Secret{}
	if err := c.Get(context.Background(), key, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"tls.crt": []byte("cert-2"), "tls.key": []byte("key-2")}
	if err := c.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}

	if err := s.sync(context.Background()); err != nil {
		t.Fatalf("sync after renewal: %v", err)
	}
	expectFile(t, filepath.Join(dir, "tls.crt"), "cert-2")
	expectFile(t, filepath.Join(dir, "tls.key"), "key-2")
}

func TestSyncLeavesUnchangedFilesAlone(t *testing.T) {
	dir := t.TempDir()
	s := &SecretFiles{Reader: reader(t, map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}),
		Secret: key, Dir: dir}
	if err := s.sync(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}

	// A rewrite would replace the file, and with it the inode the
	// webhook server's watcher follows.
	before := inode(t, filepath.Join(dir, "tls.crt"))
	if err := s.sync(context.Background()); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if inode(t, filepath.Join(dir, "tls.crt")) != before {
		t.Error("an unchanged certificate must not be rewritten")
	}
}

func reader(t *testing.T, data map[string][]byte) client.Client {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Data: data}

	return fake.NewClientBuilder().WithObjects(secret).Build()
}

func expectFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	return info.Sys().(*syscall.Stat_t).Ino
}
