package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// driftCorrections counts changes made outside a DashStream that the
// operator reverted, by what was changed.
var driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "dashstream_drift_corrections_total",
	Help: "Changes made to DashStream children outside the DashStream and reverted by the operator, by field.",
}, []string{"field"})

func init() {
	metrics.Registry.MustRegister(driftCorrections)
}
