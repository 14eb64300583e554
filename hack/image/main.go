// Command image builds the operator's container image without a container
// engine: the manager, built static for Linux, alone on an empty base and
// run as a non-root user. It writes the image as a tarball that `docker
// load` and `crane push` accept, and with -push also pushes it to its
// registry, with the credentials of the Docker config (`docker login`).
//
//	go run ./hack/image -binary bin/manager-linux-amd64 -tag registry.example.com/dashstream-operator:v0.1.0 \
//		-o bin/dashstream-operator.tar [-push]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	binary := flag.String("binary", "", "the manager, built for linux with CGO_ENABLED=0")
	tag := flag.String("tag", "", "the image reference, as `make deploy IMG=...` takes it")
	out := flag.String("o", "", "where to write the image tarball")
	arch := flag.String("arch", runtime.GOARCH, "the architecture the binary was built for")
	push := flag.Bool("push", false, "also push the image to the registry of -tag")
	flag.Parse()

	if err := run(*binary, *tag, *out, *arch, *push); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(binary, tag, out, arch string, push bool) error {
	if binary == "" || tag == "" || out == "" {
		return fmt.Errorf("-binary, -tag and -o are required")
	}

	ref, err := name.ParseReference(tag)
	if err != nil {
		return fmt.Errorf("-tag %q: %w", tag, err)
	}
	img, err := Build(binary, arch)
	if err != nil {
		return err
	}

	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("wrote %s (%s)\n", out, ref)

	if !push {
		return nil
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	fmt.Printf("pushed %s\n", ref)

	return nil
}
