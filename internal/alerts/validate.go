package alerts

import (
	"errors"
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ThresholdsPath is the spec field that holds the thresholds.
var ThresholdsPath = field.NewPath("spec", "monitoring", "prometheusRule")

// Validate checks every rule the way Prometheus will when it loads them:
// the expression with Prometheus's own PromQL parser, and For with its
// duration parser. It returns every problem, each naming its alert, so
// the operator can refuse to write a rule group Prometheus would reject.
func Validate(rules []Rule) error {
	p := parser.NewParser(parser.Options{})
	var errs []error
	for _, r := range rules {
		if err := validateRule(p, r); err != nil {
			errs = append(errs, fmt.Errorf("alert %q: %w", r.Alert, err))
		}
	}

	return errors.Join(errs...)
}

func validateRule(p parser.Parser, r Rule) error {
	var errs []error
	if r.Alert == "" || !model.LabelValue(r.Alert).IsValid() {
		errs = append(errs, errors.New("the alert name must be non-empty UTF-8"))
	}

	if err := validateExpr(p, r.Expr); err != nil {
		errs = append(errs, err)
	}

	if _, err := model.ParseDuration(r.For); err != nil {
		errs = append(errs, fmt.Errorf("for %q: %w", r.For, err))
	}

	if r.Severity != SeverityWarning && r.Severity != SeverityCritical {
		errs = append(errs, fmt.Errorf("severity %q is neither %s nor %s", r.Severity,
			SeverityWarning, SeverityCritical))
	}

	return errors.Join(errs...)
}

// validateExpr parses expr and checks that it yields an instant vector,
// the only result an alerting rule can turn into alerts.
func validateExpr(p parser.Parser, expr string) error {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("expression %q does not parse: %w", expr, err)
	}

	if e.Type() != parser.ValueTypeVector {
		return fmt.Errorf("expression %q yields a %s, not an instant vector", expr, e.Type())
	}

	return nil
}

// Validate reports every threshold that would make the rules wrong,
// naming its field under spec.monitoring.prometheusRule.
func (th Thresholds) Validate() error {
	return th.ValidateAt(ThresholdsPath).ToAggregate()
}

// ValidateAt returns the problems of th as field errors under path, for an
// admission webhook that reports them with the rest of a spec.
func (th Thresholds) ValidateAt(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	positive := []struct {
		name  string
		value int32
	}{
		{"lagOffsetAgeSeconds", th.LagOffsetAgeSeconds},
		{"partitionStaleWarningSeconds", th.PartitionStaleWarningSeconds},
		{"partitionStaleCriticalSeconds", th.PartitionStaleCriticalSeconds},
	}
	for _, f := range positive {
		if f.value <= 0 {
			errs = append(errs, field.Invalid(path.Child(f.name), f.value, "must be greater than 0"))
		}
	}

	if th.PartitionStaleCriticalSeconds <= th.PartitionStaleWarningSeconds {
		msg := fmt.Sprintf("must be greater than partitionStaleWarningSeconds (%d)",
			th.PartitionStaleWarningSeconds)
		errs = append(errs, field.Invalid(path.Child("partitionStaleCriticalSeconds"),
			th.PartitionStaleCriticalSeconds, msg))
	}

	return errs
}
