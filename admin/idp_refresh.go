package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// RefreshResult is the outcome of a successful refresh of one connection.
type RefreshResult struct {
	// Conn is the connection as stored after the refresh.
	Conn lanyard.IdPConnection
	// Changes says what changed ("nothing changed" when the IdP published
	// the same metadata).
	Changes string
	// Changed reports whether the metadata differs from the last copy.
	Changed bool
	// Warnings as for an import (expiring certificates...).
	Warnings []string
	// CacheDuration and ValidUntil from the new metadata, if it has them:
	// the refresher comes back sooner when they ask for it.
	CacheDuration time.Duration
	ValidUntil    time.Time
}

// Reasons of failed refreshes, in the audit trail.
const (
	ReasonFetchFailed     = "fetch_failed"
	ReasonInvalidMetadata = "invalid_metadata"
)

// RefreshIdP fetches the connection's SourceURL again and, when the
// metadata is valid (same checks as an import: the connection's entity ID,
// its pinned metadata signers and SHA-1 setting), stores the new copy,
// signing certificates and RefreshedAt, clearing RefreshError; an
// "idp.refresh" audit event says what changed when something did. When the
// URL fails or the metadata is refused, the last good copy is kept, the
// error is recorded in RefreshError, logged as a warning and audited as a
// failed "idp.refresh"; the error is returned.
//
// c is the connection as read by the caller; a connection without a
// SourceURL (imported from a file) is a KindInvalid error.
func (s *Service) RefreshIdP(ctx context.Context, actor string, c lanyard.IdPConnection) (RefreshResult, error) {
	if c.SourceURL == "" {
		return RefreshResult{}, invalidf("IdP %s was imported from a file, so there is no URL to refresh it from; import the new file with: lanyard idp import", c.EntityID)
	}
	data, err := s.fetch(ctx, c.SourceURL)
	if err != nil {
		return RefreshResult{}, s.refreshFailed(ctx, actor, c, ReasonFetchFailed, err)
	}
	parsed, err := parseMetadata(data, c.EntityID, pemCerts(c.MetadataSigners), c.LegacySHA1)
	if err != nil {
		return RefreshResult{}, s.refreshFailed(ctx, actor, c, ReasonInvalidMetadata, err)
	}
	now := s.now()
	res := RefreshResult{
		Warnings:      idpWarnings(parsed.idp, now),
		CacheDuration: parsed.idp.CacheDuration,
		ValidUntil:    parsed.idp.ValidUntil,
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var old lanyard.IdPConnection
		updated, err := tx.UpdateIdP(ctx, c.ID, func(cur *lanyard.IdPConnection) error {
			if cur.SourceURL != c.SourceURL || cur.EntityID != c.EntityID {
				return errorf(lanyard.KindConflict, nil, "IdP %s was re-imported from another source meanwhile; nothing refreshed", c.EntityID)
			}
			old = *cur
			cur.MetadataXML = parsed.stored
			cur.SigningCerts = certsPEM(parsed.idp.SigningCertificates)
			cur.RefreshedAt = now
			cur.RefreshError = ""
			return nil
		})
		if err != nil {
			return err
		}
		res.Conn = updated
		res.Changed = old.MetadataXML != updated.MetadataXML
		res.Changes = describeIdPChange(old, updated)
		if !res.Changed && old.RefreshError == "" {
			return nil // nothing worth an audit event every few hours
		}
		msg := fmt.Sprintf("refreshed IdP %s from %s: %s", c.EntityID, c.SourceURL, res.Changes)
		if old.RefreshError != "" {
			msg += " (the previous refresh had failed: " + old.RefreshError + ")"
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: c.TenantID,
			Actor:    actor,
			Action:   "idp.refresh",
			Subject:  c.EntityID,
			Message:  msg,
			Detail:   map[string]string{"source": c.SourceURL},
		})
	})
	if err != nil {
		if errors.Is(err, lanyard.ErrNotFound) {
			return RefreshResult{}, errorf(lanyard.KindNotFound, err, "IdP %s was removed meanwhile; nothing refreshed", c.EntityID)
		}
		return RefreshResult{}, fmt.Errorf("refresh IdP %s: %w", c.EntityID, err)
	}
	if res.Changed {
		s.logChange(ctx, "idp.refresh", actor, "entity_id", c.EntityID, "changes", res.Changes)
	}
	return res, nil
}

// refreshFailed records a failed refresh (RefreshError, an audit event, a
// warning in the log), keeping the last good metadata, and returns cause
// as a *lanyard.Error whose message says what to do.
func (s *Service) refreshFailed(ctx context.Context, actor string, c lanyard.IdPConnection, reason string, cause error) error {
	msg := lanyard.ErrorMessage(cause)
	if lanyard.ErrorKind(cause) == lanyard.KindInternal {
		msg = cause.Error()
	}
	recorded := fmt.Sprintf("%s: %s", s.now().UTC().Format(time.RFC3339), msg)
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if _, err := tx.UpdateIdP(ctx, c.ID, func(cur *lanyard.IdPConnection) error {
			cur.RefreshError = recorded
			return nil
		}); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: c.TenantID,
			Actor:    actor,
			Action:   "idp.refresh",
			Outcome:  lanyard.OutcomeFailure,
			Reason:   reason,
			Subject:  c.EntityID,
			Message:  fmt.Sprintf("refresh of IdP %s from %s failed, the last good metadata (of %s) is kept: %s", c.EntityID, c.SourceURL, c.RefreshedAt.UTC().Format(time.RFC3339), msg),
			Detail:   map[string]string{"source": c.SourceURL},
		})
	})
	s.log.WarnContext(ctx, "IdP metadata refresh failed; keeping the last good copy",
		"entity_id", c.EntityID, "tenant_id", c.TenantID, "url", c.SourceURL, "reason", reason, "err", msg)
	if err != nil {
		s.log.ErrorContext(ctx, "cannot record a failed IdP metadata refresh", "entity_id", c.EntityID, "err", err)
	}
	return errorf(lanyard.ErrorKind(cause), cause, "refresh of IdP %s from %s failed, the last good metadata is kept: %s", c.EntityID, c.SourceURL, msg)
}
