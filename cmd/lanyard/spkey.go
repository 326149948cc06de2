package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// useFlag is the --use flag of the sp-key commands.
func useFlag(fs *flagSet) *string {
	return fs.String("use", "both", "which key: `signing`, encryption or both")
}

// keyUses reads --use.
func keyUses(path, use string) ([]lanyard.KeyUse, error) {
	switch strings.ToLower(strings.TrimSpace(use)) {
	case "signing":
		return []lanyard.KeyUse{lanyard.KeySigning}, nil
	case "encryption":
		return []lanyard.KeyUse{lanyard.KeyEncryption}, nil
	case "both", "":
		return []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption}, nil
	}
	return nil, &usageError{cmd: path, msg: fmt.Sprintf("--use %q: use signing, encryption or both", use)}
}

func (a *app) spKeyList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "show a tenant's SP keys with their rollover stage, and who fetched the SP metadata since a next key was published")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		r, err := svc.SPKeyRollover(ctx, *tenant)
		if err != nil {
			return err
		}
		printRollover(a.stdout, r)
		return nil
	})
}

func printRollover(w io.Writer, r admin.KeyRollover) {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\tUSE\tSTAGE\tEXPIRES\tSHA-256\n")
	for _, k := range r.Keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Use, k.Stage, k.NotAfter.UTC().Format(time.DateOnly), orDash(k.Fingerprint))
	}
	tw.Flush()
	if r.NextSince.IsZero() {
		return
	}
	fmt.Fprintf(w, "\nNext key published %s. SP metadata fetched since then (these have the next key):\n", r.NextSince.UTC().Format(time.RFC3339))
	printFetches(w, r.FetchedSince)
	fmt.Fprintf(w, "Not fetched since (switch only when the IdPs among these have the next key, or were given it by hand):\n")
	printFetches(w, r.FetchedBefore)
}

func printFetches(w io.Writer, fetches []lanyard.MetadataFetch) {
	if len(fetches) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	for _, f := range fetches {
		fmt.Fprintf(w, "  %s %q last %s (%d fetches)\n", f.Requester, f.UserAgent, f.LastAt.UTC().Format(time.RFC3339), f.Count)
	}
}

func (a *app) spKeyNext(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--use signing|encryption|both] [--key FILE --cert FILE | --pkcs12 FILE [--password-file FILE]]",
		"add the next SP key pair (generated, or your own), published in the SP metadata beside the current one; Lanyard keeps signing with the current key until sp-key switch")
	tenant := tenantFlag(fs)
	use := useFlag(fs)
	keyFile := fs.String("key", "", "PEM `file` of your own private key (PKCS#8 or PKCS#1 RSA, 2048 bits or more)")
	certFile := fs.String("cert", "", "PEM `file` of the certificate of --key")
	p12File := fs.String("pkcs12", "", "PKCS#12 `file` (.p12, .pfx) holding your own key and certificate")
	passFile := fs.String("password-file", "", "`file` whose first line is the PKCS#12 password (default: empty password)")
	fs.extra = "Examples:\n" +
		"  lanyard sp-key next --tenant acme --use signing\n" +
		"  lanyard sp-key next --tenant acme --use both --key sp-key.pem --cert sp-cert.pem\n" +
		"  lanyard sp-key next --tenant acme --use encryption --pkcs12 sp.p12 --password-file p12.pass\n"
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		uses, err := keyUses(path, *use)
		if err != nil {
			return err
		}
		var material *admin.SPKeyMaterial
		switch {
		case *p12File != "":
			m := admin.SPKeyMaterial{}
			if m.PKCS12, err = readFileBounded(*p12File, admin.MaxKeyMaterialSize); err != nil {
				return err
			}
			if *passFile != "" {
				pw, err := readFileBounded(*passFile, 4096)
				if err != nil {
					return err
				}
				m.Password, _, _ = strings.Cut(string(pw), "\n")
				m.Password = strings.TrimSuffix(m.Password, "\r")
			}
			material = &m
		case *keyFile != "" || *certFile != "":
			if *keyFile == "" || *certFile == "" {
				return &usageError{cmd: path, msg: "give both --key FILE and --cert FILE (or --pkcs12 FILE)"}
			}
			m := admin.SPKeyMaterial{}
			if m.KeyPEM, err = readFileBounded(*keyFile, admin.MaxKeyMaterialSize); err != nil {
				return err
			}
			if m.CertificatePEM, err = readFileBounded(*certFile, admin.MaxKeyMaterialSize); err != nil {
				return err
			}
			material = &m
		}
		for _, u := range uses {
			k, err := svc.AddNextSPKey(ctx, admin.ActorCLI, *tenant, u, material)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "added next %s key %d of tenant %s (SHA-256 %s, expires %s), now published in the SP metadata\n",
				u, k.ID, *tenant, k.Fingerprint, k.NotAfter.UTC().Format(time.DateOnly))
		}
		fmt.Fprintf(a.stdout, "next: let the IdPs refresh Lanyard's SP metadata (or give them the new certificate), check with lanyard sp-key list --tenant %s, then run lanyard sp-key switch --tenant %s\n", *tenant, *tenant)
		return nil
	})
}

func (a *app) spKeySwitch(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--use signing|encryption|both]",
		"switch to the next SP key: it signs and is listed first for encryption; the previous key still decrypts until sp-key retire")
	tenant := tenantFlag(fs)
	use := useFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		uses, err := keyUses(path, *use)
		if err != nil {
			return err
		}
		for _, u := range uses {
			k, err := svc.SwitchSPKey(ctx, admin.ActorCLI, *tenant, u)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "switched tenant %s to %s key %d (SHA-256 %s)\n", *tenant, u, k.ID, k.Fingerprint)
		}
		fmt.Fprintf(a.stdout, "next: once the IdPs have refreshed Lanyard's SP metadata, run lanyard sp-key retire --tenant %s\n", *tenant)
		return nil
	})
}

func (a *app) spKeyRetire(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--use signing|encryption|both]",
		"retire the previous SP keys: no longer published, no longer decrypting")
	tenant := tenantFlag(fs)
	use := useFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		uses, err := keyUses(path, *use)
		if err != nil {
			return err
		}
		for _, u := range uses {
			retired, err := svc.RetireSPKey(ctx, admin.ActorCLI, *tenant, u)
			if err != nil {
				return err
			}
			for _, k := range retired {
				fmt.Fprintf(a.stdout, "retired %s key %d of tenant %s (SHA-256 %s)\n", u, k.ID, *tenant, k.Fingerprint)
			}
		}
		return nil
	})
}

func (a *app) certList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]",
		"list every certificate Lanyard holds or trusts (SP keys, IdP signing certificates, metadata pins, identity-token keys) with its expiry, soonest first; warnings 30 and 7 days ahead")
	tenant := fs.String("tenant", "", "only this tenant's `slug` (default: every tenant, and the identity-token keys)")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		certs, err := svc.Certificates(ctx, *tenant)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := newTable(a.stdout)
		fmt.Fprintf(tw, "TENANT\tUSE\tIDP\tSTAGE\tEXPIRES\tDAYS\tSUBJECT\tSHA-256\n")
		for _, c := range certs {
			days := int(c.NotAfter.Sub(now).Hours() / 24)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", orDash(c.Tenant), c.Use, orDash(c.IdP), orDash(c.Stage),
				c.NotAfter.UTC().Format(time.DateOnly), days, orDash(c.Subject), c.Fingerprint)
		}
		tw.Flush()
		for _, c := range certs {
			if w := c.Warning(now); w != "" {
				level := "warning"
				if c.Urgent(now) {
					level = "URGENT"
				}
				fmt.Fprintf(a.stdout, "%s: %s\n", level, w)
			}
		}
		return nil
	})
}
