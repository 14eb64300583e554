package serving_test

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/dashflow/dashstream-operator/internal/serving"
)

func TestTLSOptionsOfferHTTP2OnlyWhenAsked(t *testing.T) {
	for _, c := range []struct {
		http2 bool
		want  []string
	}{{false, []string{"http/1.1"}}, {true, []string{"h2", "http/1.1"}}} {
		// controller-runtime's webhook and metrics servers start from h2.
		cfg := &tls.Config{NextProtos: []string{"h2"}}
		for _, opt := range serving.TLSOptions(c.http2) {
			opt(cfg)
		}
		if cfg.MinVersion != tls.VersionTLS12 || !slices.Equal(cfg.NextProtos, c.want) {
			t.Errorf("http2=%v: MinVersion %x, NextProtos %q; want TLS 1.2 and %q",
				c.http2, cfg.MinVersion, cfg.NextProtos, c.want)
		}
	}
}
