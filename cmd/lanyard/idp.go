package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/idpsync"
)

// maxPinFile bounds the --pin-cert file.
const maxPinFile = 1 << 20

func (a *app) idpImport(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] --metadata FILE|URL|- [--entity-id ID] [--legacy-sha1] [--legacy-encryption] [--pin-cert FILE]",
		"connect a tenant to an IdP from its SAML metadata (a file, an http(s) URL refreshed every few hours, or - for XML on stdin); importing the same entity ID again replaces it")
	tenant := tenantFlag(fs)
	metadata := fs.String("metadata", "", "IdP metadata: a `file`, an http(s) URL, or - to read pasted XML from stdin")
	entityID := fs.String("entity-id", "", "entity `ID` of the IdP to pick from a federation file holding several")
	legacy := fs.Bool("legacy-sha1", false, "accept RSA-SHA1 signatures from this IdP (refused by default)")
	legacyEnc := fs.Bool("legacy-encryption", false, "accept 3DES-CBC and RSA PKCS#1 v1.5 (rsa-1_5) encryption from this IdP (weak; refused by default)")
	pin := fs.String("pin-cert", "", "PEM `file` of the certificate that must have signed the metadata (checked again on every refresh)")
	fs.extra = "Examples:\n" +
		"  lanyard idp import --tenant acme --metadata https://idp.example.com/saml/metadata\n" +
		"  lanyard idp import --tenant acme --metadata federation.xml --entity-id https://idp.example.org/idp --pin-cert fed-signer.pem\n"
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		src := admin.IdPSource{EntityID: strings.TrimSpace(*entityID), LegacySHA1: *legacy, LegacyEncryption: *legacyEnc}
		var err error
		switch m := strings.TrimSpace(*metadata); {
		case m == "":
			return &usageError{cmd: path, msg: "missing --metadata FILE|URL|-"}
		case strings.HasPrefix(strings.ToLower(m), "http://") || strings.HasPrefix(strings.ToLower(m), "https://"):
			src.URL = m
		case m == "-":
			src.Metadata, err = readBounded(a.stdin, admin.MaxMetadataSize, "standard input")
		default:
			src.Metadata, err = readFileBounded(m, admin.MaxMetadataSize)
		}
		if err != nil {
			return err
		}
		if *pin != "" {
			if src.PinnedCertsPEM, err = readFileBounded(*pin, maxPinFile); err != nil {
				return err
			}
		}
		conn, warnings, err := svc.ImportIdP(ctx, admin.ActorCLI, *tenant, src)
		if err != nil {
			return err
		}
		verb := "imported"
		if !conn.CreatedAt.Equal(conn.UpdatedAt) {
			verb = "replaced" // an upsert keeps CreatedAt
		}
		fmt.Fprintf(a.stdout, "%s IdP %s in tenant %s\n", verb, conn.EntityID, *tenant)
		printIdP(a.stdout, conn)
		printWarnings(a.stdout, warnings)
		return nil
	})
}

// printIdP writes a connection's endpoints, certificates and source.
func printIdP(w io.Writer, c lanyard.IdPConnection) {
	d := admin.DescribeIdP(c)
	tw := newTable(w)
	source := "file (re-import to update)"
	if c.SourceURL != "" {
		source = c.SourceURL + " (refreshed automatically)"
	}
	fmt.Fprintf(tw, "  Entity ID:\t%s\n", c.EntityID)
	fmt.Fprintf(tw, "  Source:\t%s\n", source)
	if d.Problem != "" {
		fmt.Fprintf(tw, "  Problem:\tthe stored metadata cannot be read: %s\n", d.Problem)
	}
	for _, e := range d.SSO {
		fmt.Fprintf(tw, "  SSO:\t%s (%s)\n", e.Location, shortBinding(e.Binding))
	}
	for _, e := range d.SLO {
		fmt.Fprintf(tw, "  SLO:\t%s (%s)\n", e.Location, shortBinding(e.Binding))
	}
	for _, e := range d.ArtifactResolution {
		fmt.Fprintf(tw, "  Artifact resolution:\t%s (%s, index %d)\n", e.Location, shortBinding(e.Binding), e.Index)
	}
	for _, cert := range d.Certificates {
		fmt.Fprintf(tw, "  Signing certificate:\tSHA-256 %s, expires %s\n", cert.Fingerprint, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	if c.LegacySHA1 {
		fmt.Fprintf(tw, "  Legacy SHA-1:\taccepted\n")
	}
	if c.LegacyEncryption {
		fmt.Fprintf(tw, "  Legacy encryption:\taccepted (3DES-CBC, rsa-1_5: weak; configure the IdP to use AES and RSA-OAEP)\n")
	}
	if len(c.MetadataSigners) > 0 {
		fmt.Fprintf(tw, "  Metadata signature:\tverified with %d pinned certificate(s)\n", len(c.MetadataSigners))
	}
	tw.Flush()
}

// shortBinding names a SAML binding URI by its last part.
func shortBinding(b string) string {
	if i := strings.LastIndex(b, ":"); i >= 0 {
		return b[i+1:]
	}
	return b
}

func printWarnings(w io.Writer, warnings []string) {
	for _, msg := range warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
}

func (a *app) idpList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "list a tenant's IdP connections")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		conns, err := svc.IdPs(ctx, *tenant)
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			fmt.Fprintf(a.stdout, "tenant %s has no IdP; connect one with: lanyard idp import --tenant %s --metadata FILE|URL\n", *tenant, *tenant)
			return nil
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "ENTITY ID\tSOURCE\tLAST REFRESH\tLAST ERROR\tCERTS\tFIRST CERT EXPIRY")
		for _, c := range conns {
			d := admin.DescribeIdP(c)
			source := "file"
			if c.SourceURL != "" {
				source = c.SourceURL
			}
			expiry := "-"
			if t := d.EarliestExpiry(); !t.IsZero() {
				expiry = t.UTC().Format("2006-01-02")
				if t.Before(time.Now().Add(30 * 24 * time.Hour)) {
					expiry += " (soon!)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", c.EntityID, source, formatTime(c.RefreshedAt), orDash(c.RefreshError), len(d.Certificates), expiry)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		// The legacy encryption opt-in is warned about wherever IdPs are listed.
		for _, c := range conns {
			if c.LegacyEncryption {
				fmt.Fprintf(a.stdout, "warning: IdP %s: %s\n", c.EntityID, admin.LegacyEncryptionWarning)
			}
		}
		return nil
	})
}

func (a *app) idpRemove(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] ENTITYID", "remove a tenant's connection to an IdP")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		if err := svc.DeleteIdP(ctx, admin.ActorCLI, *tenant, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "removed IdP %s from tenant %s\n", pos[0], *tenant)
		return nil
	})
}

func (a *app) idpRefresh(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [ENTITYID]", "fetch the metadata of a tenant's IdPs imported from a URL now (all of them, or the one named)")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 1, func(svc *admin.Service, pos []string) error {
		var conns []lanyard.IdPConnection
		if len(pos) == 1 {
			c, err := svc.IdP(ctx, *tenant, pos[0])
			if err != nil {
				return err
			}
			conns = append(conns, c)
		} else {
			all, err := svc.IdPs(ctx, *tenant)
			if err != nil {
				return err
			}
			for _, c := range all {
				if c.SourceURL != "" {
					conns = append(conns, c)
				}
			}
			if len(conns) == 0 {
				fmt.Fprintf(a.stdout, "tenant %s has no IdP imported from a URL: nothing to refresh\n", *tenant)
				return nil
			}
		}
		failed := 0
		for _, c := range conns {
			res, err := svc.RefreshIdP(ctx, admin.ActorCLI, c)
			if err != nil {
				if len(conns) == 1 {
					return err
				}
				failed++
				fmt.Fprintf(a.stderr, "lanyard: %s\n", lanyard.ErrorMessage(err))
				continue
			}
			fmt.Fprintf(a.stdout, "refreshed IdP %s: %s\n", c.EntityID, res.Changes)
			printWarnings(a.stdout, res.Warnings)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d refreshes failed; the last good metadata is kept for those", failed, len(conns))
		}
		return nil
	})
}

// readFileBounded reads a file of at most limit bytes.
func readFileBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, lanyard.Errorf(lanyard.KindInvalid, "file %s does not exist; give a file path or an http(s) URL", name)
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	return readBounded(f, limit, name)
}

// readBounded reads r up to limit bytes, refusing more.
func readBounded(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return nil, lanyard.Errorf(lanyard.KindInvalid, "%s is larger than %d MiB; give the IdP's own metadata", what, limit>>20)
	}
	return data, nil
}

// metadataFetcher is the fetcher of URL imports and refreshes.
func metadataFetcher() admin.MetadataFetcher { return &idpsync.HTTPFetcher{} }
