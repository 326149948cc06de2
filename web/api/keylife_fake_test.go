package api

import (
	"context"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

func (f *fakeAdmin) SPKeyRollover(_ context.Context, slug string) (admin.KeyRollover, error) {
	return admin.KeyRollover{}, f.record("SPKeyRollover", slug)
}

func (f *fakeAdmin) AddNextSPKey(_ context.Context, actor, slug string, use lanyard.KeyUse, m *admin.SPKeyMaterial) (admin.KeyInfo, error) {
	material := "generated"
	if m != nil {
		material = string(m.KeyPEM) + "/" + string(m.CertificatePEM) + "/" + string(m.PKCS12) + "/" + m.Password
	}
	return admin.KeyInfo{}, f.record("AddNextSPKey", actor, slug, use, material)
}

func (f *fakeAdmin) SwitchSPKey(_ context.Context, actor, slug string, use lanyard.KeyUse) (admin.KeyInfo, error) {
	return admin.KeyInfo{}, f.record("SwitchSPKey", actor, slug, use)
}

func (f *fakeAdmin) RetireSPKey(_ context.Context, actor, slug string, use lanyard.KeyUse) ([]admin.KeyInfo, error) {
	return nil, f.record("RetireSPKey", actor, slug, use)
}

func (f *fakeAdmin) Certificates(_ context.Context, slug string) ([]admin.HeldCertificate, error) {
	return nil, f.record("Certificates", slug)
}

func (f *fakeAdmin) AddManualIdP(_ context.Context, actor, slug string, m admin.ManualIdP) (lanyard.IdPConnection, []string, error) {
	return lanyard.IdPConnection{}, nil, f.record("AddManualIdP", actor, slug, m.EntityID, m.SSOURL, m.SSOBinding, m.SLOURL, string(m.SigningCertsPEM), m.LegacySHA1)
}

func (f *fakeAdmin) Diagnose(_ context.Context, slug string) (admin.Diagnosis, error) {
	return admin.Diagnosis{Tenant: slug}, f.record("Diagnose", slug)
}
