package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dashflow/dashstream-operator/test/localcluster"
)

var certSecret = client.ObjectKey{Namespace: localcluster.OperatorNamespace, Name: localcluster.WebhookCertSecret}

var _ = Describe("The webhook certificate the operator issues", Ordered, func() {
	var ns string

	BeforeAll(func() {
		ns = "e2e-cert-" + utilrand.String(5)
		mustKubectl("create", "namespace", ns)
		mustKubectl("-n", ns, "apply", "-k", samplesDir())
		mustKubectl("-n", ns, "wait", "dstream/events", "--for=condition=Ready", "--timeout=180s")
	})

	It("replaced the expired certificate it was started with, and the API server trusts the new one", func() {
		tlsCert, ca := servingCertificate(Default)
		Expect(tlsCert.NotAfter).To(BeTemporally(">", time.Now().Add(30*24*time.Hour)),
			"the expired certificate should have been replaced by a fresh one")
		Expect(tlsCert.VerifyHostname("localhost")).To(Succeed())
		Expect(bytes.Equal(webhookCABundle(Default), ca)).To(BeTrue(),
			"every webhook should trust the CA that signed the serving certificate")

		expectPolicyDenial(ns)
	})

	It("serves a renewed certificate without a restart", func() {
		before, _ := servingCertificate(Default)
		pid := manager.Process.Pid

		// Emptying the Secret is what an expired or lost certificate comes
		// down to: the operator must issue a new CA and certificate.
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, certSecret, secret)).To(Succeed())
		secret.Data = nil
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())

		Eventually(func(g Gomega) {
			after, ca := servingCertificate(g)
			g.Expect(after.Raw).NotTo(Equal(before.Raw), "a new certificate should be issued")
			g.Expect(bytes.Equal(webhookCABundle(g), ca)).To(BeTrue(), "the new CA should be in the webhooks")
		}).Should(Succeed())

		expectPolicyDenial(ns)
		Expect(manager.ProcessState).To(BeNil(), "the operator should not have exited")
		Expect(manager.Process.Pid).To(Equal(pid))
	})
})

var _ = Describe("The webhook server", func() {
	It("speaks HTTP/1.1 alone, to a client that offers HTTP/2 as well", func() {
		// Right after a renewal the server may serve the old certificate for
		// a few seconds, until it reloads the files.
		Eventually(func(g Gomega) {
			_, ca := servingCertificate(g)
			roots := x509.NewCertPool()
			g.Expect(roots.AppendCertsFromPEM(ca)).To(BeTrue(), "the Secret's ca.crt should hold the CA")

			conn, err := tls.Dial("tcp", operator.WebhookAddr,
				&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
			g.Expect(err).NotTo(HaveOccurred(), "a client trusting the CA should complete the handshake")
			g.Expect(conn.ConnectionState().NegotiatedProtocol).To(Equal("http/1.1"))
			g.Expect(conn.Close()).To(Succeed())
		}).Should(Succeed())
	})
})

// expectPolicyDenial waits until an HPA aimed at the pinned server is
// denied by the webhook for the scaling policy, which proves the API server
// completed a TLS handshake with it; a TLS failure would surface as a
// "failed calling webhook" error instead.
func expectPolicyDenial(ns string) {
	GinkgoHelper()
	Eventually(func() string {
		out, _ := kubectlWithInput(hpaManifest("rotation-check", server, 1),
			"-n", ns, "apply", "--dry-run=server", "-f", "-")
		return out
	}).Should(And(ContainSubstring("denied the request"), ContainSubstring("pins its server to 1 replica"),
		Not(ContainSubstring("x509"))))
}

// servingCertificate returns the certificate in the Secret and its CA in PEM.
func servingCertificate(g Gomega) (*x509.Certificate, []byte) {
	secret := &corev1.Secret{}
	g.Expect(k8sClient.Get(ctx, certSecret, secret)).To(Succeed())

	block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
	g.Expect(block).NotTo(BeNil(), "the Secret should hold a PEM certificate")
	cert, err := x509.ParseCertificate(block.Bytes)
	g.Expect(err).NotTo(HaveOccurred())

	return cert, secret.Data["ca.crt"]
}

// webhookCABundle returns the CA bundle of the operator's webhooks, which
// must all be the same.
func webhookCABundle(g Gomega) []byte {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: localcluster.WebhookConfiguration}, vwc)).To(Succeed())
	g.Expect(vwc.Webhooks).NotTo(BeEmpty())

	bundle := vwc.Webhooks[0].ClientConfig.CABundle
	for _, w := range vwc.Webhooks {
		g.Expect(w.ClientConfig.CABundle).To(Equal(bundle), "webhook %s has another CA bundle", w.Name)
	}

	return bundle
}

// seedExpiredCertificate fills the certificate Secret with a CA and a
// serving certificate that both expired a day ago, as a cluster whose
// operator was off for longer than their lifetime would have.
func seedExpiredCertificate() {
	caKey, caPEM, caCert := newCertificate(nil, nil, "dashstream-operator-ca", true)
	key, certPEM, _ := newCertificate(caCert, caKey, "localhost", false)

	secret := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, certSecret, secret)).To(Succeed())
	secret.Data = map[string][]byte{
		"ca.crt": caPEM, "ca.key": pemKey(caKey), corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: pemKey(key),
	}
	Expect(k8sClient.Update(ctx, secret)).To(Succeed())
}

// newCertificate issues a certificate valid from two days to one day ago,
// self-signed when parent is nil.
func newCertificate(parent *x509.Certificate, parentKey *rsa.PrivateKey, name string,
	isCA bool) (*rsa.PrivateKey, []byte, *x509.Certificate) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	Expect(err).NotTo(HaveOccurred())

	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-48 * time.Hour),
		NotAfter:              time.Now().Add(-24 * time.Hour),
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())

	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

func pemKey(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}
