// Package serving holds the TLS settings of the manager's HTTPS servers:
// the admission webhooks and the metrics endpoint.
package serving

import "crypto/tls"

// TLSOptions returns the settings every HTTPS server of the manager uses:
// TLS 1.2 at least, and HTTP/1.1 alone unless http2 is set. HTTP/2's
// stream handling has had denial-of-service flaws (CVE-2023-44487,
// CVE-2023-39325), and neither the API server's webhook calls nor a
// Prometheus scrape needs it; the kubebuilder scaffold turns it off too.
func TLSOptions(http2 bool) []func(*tls.Config) {
	protos := []string{"http/1.1"}
	if http2 {
		protos = []string{"h2", "http/1.1"}
	}

	return []func(*tls.Config){func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		c.NextProtos = protos
	}}
}
