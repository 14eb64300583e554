// Command gen-alerts writes, from internal/alerts alone, the plain
// Prometheus rule file and the alert and metric docs. With -check it
// writes nothing and fails when a file differs from what it would write.
//
//	go run ./hack/gen-alerts          (make generate-alerts)
//	go run ./hack/gen-alerts -check   (make verify-generated)
//
// Run it from the repository root.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dashflow/dashstream-operator/internal/alerts"
)

// output is one generated file.
type output struct {
	path    string
	content []byte
}

func main() {
	check := flag.Bool("check", false, "compare the files instead of writing them; exit 1 if any is stale")
	flag.Parse()

	outputs, err := render()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen-alerts: %v\n", err)
		os.Exit(1)
	}

	if *check {
		os.Exit(checkAll(outputs))
	}

	for _, o := range outputs {
		if err := write(o); err != nil {
			fmt.Fprintf(os.Stderr, "gen-alerts: %v\n", err)
			os.Exit(1)
		}
	}
}

// render produces every generated file.
func render() ([]output, error) {
	rules, err := alerts.RuleFile(alerts.RuleFileHeader, alerts.StaticGroups())
	if err != nil {
		return nil, fmt.Errorf("render rule file: %w", err)
	}

	metrics, err := alerts.MetricsMarkdown()
	if err != nil {
		return nil, fmt.Errorf("render metrics doc: %w", err)
	}

	return []output{
		{path: "config/prometheus/dashstream-rules.yaml", content: rules},
		{path: "docs/alerts.md", content: []byte(alerts.AlertsMarkdown())},
		{path: "docs/metrics.md", content: []byte(metrics)},
	}, nil
}

// checkAll reports every stale file and returns the exit code.
func checkAll(outputs []output) int {
	code := 0
	for _, o := range outputs {
		got, err := os.ReadFile(o.path)
		if err == nil && bytes.Equal(got, o.content) {
			continue
		}

		code = 1
		reason := "differs from what internal/alerts generates"
		if err != nil {
			reason = fmt.Sprintf("cannot be read (%v)", err)
		}

		fmt.Fprintf(os.Stderr, "%s %s: run 'make generate-alerts' and commit the result\n", o.path, reason)
	}

	return code
}

func write(o output) error {
	if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
		return fmt.Errorf("create folder of %s: %w", o.path, err)
	}

	if err := os.WriteFile(o.path, o.content, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}

	return nil
}
