package main

import (
	"archive/tar"
	"debug/elf"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImageRunsTheManagerAsNonRoot builds the image with `make image`, as
// a user does, reads the tarball back as `docker load` would, and runs the
// binary it holds.
func TestImageRunsTheManagerAsNonRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image holds a linux binary, which only runs on linux")
	}
	dir := t.TempDir()
	tag := "registry.example.com/dashstream-operator:v0.1.0"
	out := filepath.Join(dir, "image.tar")
	cmd := exec.Command("make", "-C", filepath.Join("..", ".."), "image",
		"IMG="+tag, "IMAGE_TAR="+out, "LOCALBIN="+dir)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, log)
	}

	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatalf("read the tarball back: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/manager"}) ||
		cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config: user %q, entrypoint %q, platform %s/%s; want 65532:65532, [/manager], linux/%s",
			cf.Config.User, cf.Config.Entrypoint, cf.OS, cf.Architecture, runtime.GOARCH)
	}

	manager := extractManager(t, img, dir)
	expectStatic(t, manager)
	help, err := exec.Command(manager, "-help").CombinedOutput()
	if err != nil {
		t.Fatalf("run the image's manager -help: %v\n%s", err, help)
	}
	if !strings.Contains(string(help), "-webhooks") || !strings.Contains(string(help), "-leader-elect") {
		t.Errorf("the image's /manager -help should list the manager's flags, got:\n%s", help)
	}
}

// expectStatic checks that binary needs no dynamic loader, which the
// image's empty base does not have.
func expectStatic(t *testing.T, binary string) {
	t.Helper()
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatalf("read the manager as ELF: %v", err)
	}
	defer func() { _ = f.Close() }()

	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the image's manager is linked dynamically; on an empty base it cannot start")
		}
	}
}

// TestImageIsReproducible checks that one binary always gives the same
// OCI image, digest included, so a rebuild does not look like a new
// release.
func TestImageIsReproducible(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(binary, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	var digests []string
	for range 2 {
		img, err := Build(binary, "amd64")
		if err != nil {
			t.Fatal(err)
		}
		if mt, err := img.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
			t.Errorf("manifest media type %q (%v), want an OCI manifest, as a push sends it", mt, err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of one binary gave %s and %s", digests[0], digests[1])
	}
}

// extractManager extracts /manager from img's only layer, as a container
// runtime unpacks it, and returns its path.
func extractManager(t *testing.T, img v1.Image, dir string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()

	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "manager" || hdr.Mode != 0o755 {
		t.Fatalf("layer holds %q mode %o, want manager mode 755", hdr.Name, hdr.Mode)
	}
	extracted := filepath.Join(dir, "extracted-manager")
	f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, os.FileMode(hdr.Mode))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, tr); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("the layer should hold the manager alone (next entry: %v)", err)
	}

	return extracted
}

// TestImagePushesToItsRegistry pushes to a registry served in process, as
// `make image-push` pushes to the registry of IMG, and pulls the image
// back.
func TestImagePushesToItsRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	binary := filepath.Join(dir, "manager")
	if err := os.WriteFile(binary, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	tag := strings.TrimPrefix(srv.URL, "http://") + "/dashstream-operator:v0.1.0"
	if err := run(binary, tag, filepath.Join(dir, "image.tar"), "amd64", true); err != nil {
		t.Fatal(err)
	}

	ref, err := name.ParseReference(tag)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull %s back: %v", ref, err)
	}
	built, err := Build(binary, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := built.Digest()
	if got, err := pulled.Digest(); err != nil || got != want {
		t.Errorf("pulled digest %s (%v), want the built image's %s", got, err, want)
	}
}
