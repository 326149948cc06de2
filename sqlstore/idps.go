package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lanyard-sso/lanyard"
)

const idpColumns = `id, tenant_id, entity_id, metadata_xml, source_url, signing_certs, metadata_signers,
	legacy_sha1, legacy_encryption, refreshed_at, refresh_error, created_at, updated_at`

func scanIdP(r rowScanner) (lanyard.IdPConnection, error) {
	var (
		c                           lanyard.IdPConnection
		certs, signers              string
		refreshed, created, updated int64
	)
	err := r.Scan(&c.ID, &c.TenantID, &c.EntityID, &c.MetadataXML, &c.SourceURL, &certs, &signers, &c.LegacySHA1,
		&c.LegacyEncryption, &refreshed, &c.RefreshError, &created, &updated)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(certs), &c.SigningCerts); err != nil {
		return c, fmt.Errorf("idp %q: decode signing_certs: %w", c.EntityID, err)
	}
	if err := json.Unmarshal([]byte(signers), &c.MetadataSigners); err != nil {
		return c, fmt.Errorf("idp %q: decode metadata_signers: %w", c.EntityID, err)
	}
	if len(c.MetadataSigners) == 0 {
		c.MetadataSigners = nil
	}
	c.RefreshedAt, c.CreatedAt, c.UpdatedAt = fromNanos(refreshed), fromNanos(created), fromNanos(updated)
	return c, nil
}

func encodeCerts(certs []string) (string, error) {
	if certs == nil {
		certs = []string{}
	}
	b, err := json.Marshal(certs)
	return string(b), err
}

// PutIdP inserts c, or replaces the connection with the same tenant and
// entity ID (keeping its ID and CreatedAt), and sets c.ID and timestamps.
func (d *DB) PutIdP(ctx context.Context, c *lanyard.IdPConnection) error {
	const op = "sqlstore.PutIdP"
	certs, err := encodeCerts(c.SigningCerts)
	if err != nil {
		return fmt.Errorf("sqlstore: put idp: encode certificates: %w", err)
	}
	signers, err := encodeCerts(c.MetadataSigners)
	if err != nil {
		return fmt.Errorf("sqlstore: put idp: encode metadata signers: %w", err)
	}
	now := d.timestamp()
	var id, created int64
	err = d.write(ctx, true, func(q querier) error {
		return q.QueryRowContext(ctx,
			`INSERT INTO idp_connections (tenant_id, entity_id, metadata_xml, source_url, signing_certs,
				metadata_signers, legacy_sha1, legacy_encryption, refreshed_at, refresh_error, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $10, $6, $11, $7, $8, $9, $9)
			ON CONFLICT (tenant_id, entity_id) DO UPDATE SET
				metadata_xml = excluded.metadata_xml, source_url = excluded.source_url,
				signing_certs = excluded.signing_certs, metadata_signers = excluded.metadata_signers,
				legacy_sha1 = excluded.legacy_sha1, legacy_encryption = excluded.legacy_encryption,
				refreshed_at = excluded.refreshed_at, refresh_error = excluded.refresh_error,
				updated_at = excluded.updated_at
			RETURNING id, created_at`,
			c.TenantID, c.EntityID, c.MetadataXML, c.SourceURL, certs,
			c.LegacySHA1, toNanos(c.RefreshedAt), c.RefreshError, toNanos(now), signers, c.LegacyEncryption).Scan(&id, &created)
	})
	if err != nil {
		if d.class(err) == ErrorForeignKey {
			return invalid(err, op, "tenant %d does not exist", c.TenantID)
		}
		return fmt.Errorf("sqlstore: put idp %q: %w", c.EntityID, err)
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, fromNanos(created), now
	return nil
}

// IdP returns a tenant's connection by entity ID. ErrNotFound.
func (d *DB) IdP(ctx context.Context, tenantID int64, entityID string) (lanyard.IdPConnection, error) {
	c, err := scanIdP(d.reader().QueryRowContext(ctx,
		`SELECT `+idpColumns+` FROM idp_connections WHERE tenant_id = $1 AND entity_id = $2`, tenantID, entityID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("sqlstore.IdP", "identity provider %q not found", entityID)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: read idp %q: %w", entityID, err)
	}
	return c, nil
}

// IdPs lists a tenant's connections by entity ID (all tenants' when
// tenantID is 0, by tenant then entity ID).
func (d *DB) IdPs(ctx context.Context, tenantID int64) ([]lanyard.IdPConnection, error) {
	query := `SELECT ` + idpColumns + ` FROM idp_connections WHERE tenant_id = $1 ORDER BY entity_id`
	args := []any{tenantID}
	if tenantID == 0 {
		query = `SELECT ` + idpColumns + ` FROM idp_connections ORDER BY tenant_id, entity_id`
		args = nil
	}
	rows, err := d.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list idps: %w", err)
	}
	defer rows.Close()
	var out []lanyard.IdPConnection
	for rows.Next() {
		c, err := scanIdP(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list idps: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list idps: %w", err)
	}
	return out, nil
}

// UpdateIdP applies fn to the connection in one transaction; fn may run
// more than once. The ID, tenant and CreatedAt are kept. ErrNotFound;
// ErrConflict when the new entity ID is taken in the tenant.
func (d *DB) UpdateIdP(ctx context.Context, id int64, fn func(*lanyard.IdPConnection) error) (lanyard.IdPConnection, error) {
	const op = "sqlstore.UpdateIdP"
	var out lanyard.IdPConnection
	err := d.inTx(ctx, func(tx *DB) error {
		q := tx.writer()
		c, err := scanIdP(q.QueryRowContext(ctx,
			`SELECT `+idpColumns+` FROM idp_connections WHERE id = $1`+tx.lockRow(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "identity provider %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update idp %d: %w", id, err)
		}
		tenantID, created := c.TenantID, c.CreatedAt
		if err := fn(&c); err != nil {
			return err
		}
		c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt = id, tenantID, created, tx.timestamp()
		certs, err := encodeCerts(c.SigningCerts)
		if err != nil {
			return fmt.Errorf("sqlstore: update idp %d: encode certificates: %w", id, err)
		}
		signers, err := encodeCerts(c.MetadataSigners)
		if err != nil {
			return fmt.Errorf("sqlstore: update idp %d: encode metadata signers: %w", id, err)
		}
		_, err = q.ExecContext(ctx,
			`UPDATE idp_connections SET entity_id = $1, metadata_xml = $2, source_url = $3, signing_certs = $4,
				legacy_sha1 = $5, refreshed_at = $6, refresh_error = $7, updated_at = $8, metadata_signers = $10,
				legacy_encryption = $11
			WHERE id = $9`,
			c.EntityID, c.MetadataXML, c.SourceURL, certs, c.LegacySHA1, toNanos(c.RefreshedAt),
			c.RefreshError, toNanos(c.UpdatedAt), id, signers, c.LegacyEncryption)
		if err != nil {
			if tx.class(err) == ErrorUnique {
				return conflict(err, op, "identity provider %q is already connected to this tenant", c.EntityID)
			}
			return fmt.Errorf("sqlstore: update idp %d: %w", id, err)
		}
		out = c
		return nil
	})
	if err != nil {
		return lanyard.IdPConnection{}, err
	}
	return out, nil
}

// DeleteIdP removes the connection. ErrNotFound.
func (d *DB) DeleteIdP(ctx context.Context, id int64) error {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM idp_connections WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete idp %d: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return fmt.Errorf("sqlstore: delete idp %d: %w", id, err)
	} else if n == 0 {
		return notFound("sqlstore.DeleteIdP", "identity provider %d not found", id)
	}
	return nil
}

const spKeyColumns = `id, tenant_id, key_use, private_key_pem, certificate_pem, not_after, active, created_at, next`

// AddSPKey inserts k and sets its ID (and CreatedAt when zero).
func (d *DB) AddSPKey(ctx context.Context, k *lanyard.SPKey) error {
	created := k.CreatedAt
	if created.IsZero() {
		created = d.timestamp()
	}
	var id int64
	err := d.writer().QueryRowContext(ctx,
		`INSERT INTO sp_keys (tenant_id, key_use, private_key_pem, certificate_pem, not_after, active, created_at, next)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		k.TenantID, string(k.Use), d.sealText(k.PrivateKeyPEM, purposeSPKey), k.CertificatePEM, toNanos(k.NotAfter), k.Active,
		toNanos(created), k.Next).Scan(&id)
	if err != nil {
		if d.class(err) == ErrorForeignKey {
			return invalid(err, "sqlstore.AddSPKey", "tenant %d does not exist", k.TenantID)
		}
		return fmt.Errorf("sqlstore: add sp key: %w", err)
	}
	k.ID, k.CreatedAt = id, fromNanos(toNanos(created))
	return nil
}

// SPKeys lists a tenant's keys, newest first, retired ones included.
func (d *DB) SPKeys(ctx context.Context, tenantID int64) ([]lanyard.SPKey, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT `+spKeyColumns+` FROM sp_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sp keys: %w", err)
	}
	defer rows.Close()
	var out []lanyard.SPKey
	for rows.Next() {
		var (
			k                 lanyard.SPKey
			use               string
			notAfter, created int64
		)
		if err := rows.Scan(&k.ID, &k.TenantID, &use, &k.PrivateKeyPEM, &k.CertificatePEM, &notAfter, &k.Active, &created, &k.Next); err != nil {
			return nil, fmt.Errorf("sqlstore: list sp keys: %w", err)
		}
		k.Use, k.NotAfter, k.CreatedAt = lanyard.KeyUse(use), fromNanos(notAfter), fromNanos(created)
		plain, err := d.sealer.Open([]byte(k.PrivateKeyPEM), purposeSPKey)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: SP key %d of tenant %d: %w", k.ID, k.TenantID, err)
		}
		k.PrivateKeyPEM = string(plain)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list sp keys: %w", err)
	}
	return out, nil
}

// SetSPKeyActive marks a key active or retired. ErrNotFound.
func (d *DB) SetSPKeyActive(ctx context.Context, id int64, active bool) error {
	res, err := d.writer().ExecContext(ctx, `UPDATE sp_keys SET active = $1 WHERE id = $2`, active, id)
	if err != nil {
		return fmt.Errorf("sqlstore: set sp key %d active: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return fmt.Errorf("sqlstore: set sp key %d active: %w", id, err)
	} else if n == 0 {
		return notFound("sqlstore.SetSPKeyActive", "SP key %d not found", id)
	}
	return nil
}

// ConfigVersion returns a number that grows whenever a tenant, an IdP
// connection or an SP key changes: triggers in the schema bump it in the
// transaction of every such write.
func (d *DB) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := d.reader().QueryRowContext(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: config version: %w", err)
	}
	return v, nil
}

// ConfigChanges lists the tenants whose configuration changed after
// version after, up to version upto (a ConfigVersion), one ID per change.
// complete is false when the log no longer holds every change of that
// span (it keeps the last 10,000): the caller must then assume that every
// tenant changed.
func (d *DB) ConfigChanges(ctx context.Context, after, upto int64) (tenantIDs []int64, complete bool, err error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT tenant_id FROM config_changes WHERE version > $1 AND version <= $2 ORDER BY version`, after, upto)
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: config changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, false, fmt.Errorf("sqlstore: config changes: %w", err)
		}
		tenantIDs = append(tenantIDs, id)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlstore: config changes: %w", err)
	}
	return tenantIDs, int64(len(tenantIDs)) == upto-after, nil
}
