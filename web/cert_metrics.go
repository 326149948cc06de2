package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard/admin"
)

// certificateScrapeInterval is how long the certificate list read for
// /metrics is reused: scrapes are frequent, certificates change rarely.
const certificateScrapeInterval = time.Minute

// certificateExpiry is the collector of lanyard_certificate_expiry_seconds:
// per certificate Lanyard holds or trusts, seconds until it expires
// (negative once expired).
type certificateExpiry struct {
	admin *admin.Service
	now   func() time.Time
	desc  *prometheus.Desc

	mu      sync.Mutex
	certs   []admin.HeldCertificate
	readAt  time.Time
	lastErr error
}

// observeCertificates registers the certificate expiry gauge.
func (s *Server) observeCertificates() {
	if s.admin == nil {
		return
	}
	c := &certificateExpiry{
		admin: s.admin,
		now:   s.now,
		desc: prometheus.NewDesc("lanyard_certificate_expiry_seconds",
			"Seconds until a certificate Lanyard holds or trusts expires (negative once expired), by tenant, IdP entity ID (empty for Lanyard's own), use (sp-signing, sp-encryption, idp-signing, metadata-signer, identity-token) and SHA-256 prefix. Alert below 30 days (2592000); identity-token keys rotate by themselves every day.",
			[]string{"tenant", "idp", "use", "sha256"}, nil),
	}
	if err := s.metrics.registry.Register(c); err != nil {
		s.logger.Error("metric not registered", "metric", "lanyard_certificate_expiry_seconds", "err", err)
	}
}

func (c *certificateExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certificateExpiry) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, cert := range c.read(now) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, cert.NotAfter.Sub(now).Seconds(),
			cert.Tenant, cert.IdP, cert.Use, fingerprintPrefix(cert.Fingerprint))
	}
}

// read returns the certificates, read again at most once per
// certificateScrapeInterval; on a failed read the last list is kept.
func (c *certificateExpiry) read(now time.Time) []admin.HeldCertificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < certificateScrapeInterval {
		return c.certs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	certs, err := c.admin.Certificates(ctx, "")
	c.readAt, c.lastErr = now, err
	if err == nil {
		c.certs = certs
	}
	return c.certs
}

// fingerprintPrefix shortens a fingerprint to 16 lower-case hex digits:
// enough to tell a tenant's certificates apart in a label.
func fingerprintPrefix(f string) string {
	f = strings.ToLower(strings.ReplaceAll(f, ":", ""))
	if len(f) > 16 {
		f = f[:16]
	}
	return f
}
