package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// MergePlan is what merging two accounts does: the preview shown before,
// and the report given after.
type MergePlan struct {
	Tenant lanyard.Tenant
	// Keep is the account that stays, as it is before the merge.
	Keep lanyard.User
	// Remove is the account merged into Keep and then deleted.
	Remove lanyard.User
	// Result is Keep as it will be (or is) after the merge.
	Result lanyard.User
	// Links are the IdP identities of Remove that move to Keep.
	Links []lanyard.Link
	// Sessions counts the live sessions of Remove that move to Keep.
	Sessions int
	// Changes lists the changes to Keep's fields and roles, as
	// "field: old → new".
	Changes []string
	// AuditEvents counts the audit events moved (after the merge only).
	AuditEvents int
}

// Summary is one line describing the merge, for messages and the audit trail.
func (p MergePlan) Summary() string {
	parts := []string{fmt.Sprintf("%d IdP link(s)", len(p.Links)), fmt.Sprintf("%d session(s)", p.Sessions)}
	if len(p.Changes) > 0 {
		parts = append(parts, strings.Join(p.Changes, "; "))
	}
	return fmt.Sprintf("merged %s into %s: %s", p.Remove.Login, p.Keep.Login, strings.Join(parts, ", "))
}

// mergeUsers returns keep with what remove adds: every role grant of both,
// empty fields (email, names, password) filled from remove, the later last
// login, and web access when either had it. The kept account's state
// (status, lock, login method, source) wins.
func mergeUsers(keep, remove lanyard.User) lanyard.User {
	out := keep
	out.Roles = lanyard.NormalizeRoles(append(slices.Clone(keep.Roles), remove.Roles...))
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&out.Email, remove.Email)
	fill(&out.FirstName, remove.FirstName)
	fill(&out.LastName, remove.LastName)
	fill(&out.PasswordHash, remove.PasswordHash)
	if remove.LastLoginAt.After(out.LastLoginAt) {
		out.LastLoginAt = remove.LastLoginAt
	}
	out.WebAccess = keep.WebAccess || remove.WebAccess
	return out
}

// userDiff lists what changes from a to b, as "field: old → new".
func userDiff(a, b lanyard.User) []string {
	var out []string
	for _, kv := range UserSettingValues(a) {
		for _, kv2 := range UserSettingValues(b) {
			if kv.Key == kv2.Key && kv.Value != kv2.Value {
				out = append(out, fmt.Sprintf("%s: %s → %s", kv.Key, show(kv.Value), show(kv2.Value)))
			}
		}
	}
	if ra, rb := strings.Join(a.RoleNames(), ","), strings.Join(b.RoleNames(), ","); ra != rb {
		out = append(out, fmt.Sprintf("all roles: %s → %s", show(ra), show(rb)))
	}
	switch {
	case a.PasswordHash == "" && b.PasswordHash != "":
		out = append(out, "password: none → set")
	case a.PasswordHash != "" && b.PasswordHash == "":
		out = append(out, "password: set → removed")
	}
	return out
}

// PreviewMerge shows what MergeUsers would do, without changing anything.
func (s *Service) PreviewMerge(ctx context.Context, tenantSlug, keepLogin, removeLogin string) (MergePlan, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return MergePlan{}, err
	}
	return s.planMerge(ctx, s.store, t, keepLogin, removeLogin)
}

func (s *Service) planMerge(ctx context.Context, st lanyard.Store, t lanyard.Tenant, keepLogin, removeLogin string) (MergePlan, error) {
	if strings.EqualFold(strings.TrimSpace(keepLogin), strings.TrimSpace(removeLogin)) {
		return MergePlan{}, invalidf("the account to keep and the account to merge into it are the same (%q): name two different accounts", keepLogin)
	}
	keep, err := s.userIn(ctx, t, keepLogin)
	if err != nil {
		return MergePlan{}, err
	}
	remove, err := s.userIn(ctx, t, removeLogin)
	if err != nil {
		return MergePlan{}, err
	}
	p := MergePlan{Tenant: t, Keep: keep, Remove: remove, Result: mergeUsers(keep, remove)}
	p.Changes = userDiff(keep, p.Result)
	if p.Links, err = st.Links(ctx, remove.ID); err != nil {
		return MergePlan{}, fmt.Errorf("merge preview: links of %s: %w", remove.Login, err)
	}
	sessions, err := st.UserSessions(ctx, remove.ID, s.now())
	if err != nil {
		return MergePlan{}, fmt.Errorf("merge preview: sessions of %s: %w", remove.Login, err)
	}
	p.Sessions = len(sessions)
	return p, nil
}

// MergeUsers merges the account removeLogin into keepLogin, in one
// transaction: the IdP links, live sessions and audit history of the
// removed account move to the kept one, role grants are joined, empty
// fields of the kept account are filled from the removed one, and the
// removed account is deleted. This is the fix for a duplicate account
// created by a first SSO login. One "user.merge" audit event names the
// actor.
func (s *Service) MergeUsers(ctx context.Context, actor, tenantSlug, keepLogin, removeLogin string) (MergePlan, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return MergePlan{}, err
	}
	var plan MergePlan
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		if plan, err = s.planMerge(ctx, tx, t, keepLogin, removeLogin); err != nil {
			return err
		}
		moved, err := tx.MoveUserRecords(ctx, plan.Remove.ID, plan.Keep.ID)
		if err != nil {
			return fmt.Errorf("move records: %w", err)
		}
		plan.AuditEvents = moved.AuditEvents
		if err := tx.DeleteUser(ctx, plan.Remove.ID); err != nil {
			return fmt.Errorf("delete %s: %w", plan.Remove.Login, err)
		}
		merged, err := tx.UpdateUser(ctx, plan.Keep.ID, func(u *lanyard.User) error {
			*u = mergeUsers(*u, plan.Remove)
			return nil
		})
		if err != nil {
			return fmt.Errorf("update %s: %w", plan.Keep.Login, err)
		}
		plan.Result = merged
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "user.merge",
			UserID:   plan.Keep.ID,
			Subject:  plan.Keep.Login,
			Message:  fmt.Sprintf("%s; %d audit event(s) moved; account %s (ID %d) deleted", plan.Summary(), moved.AuditEvents, plan.Remove.Login, plan.Remove.ID),
			Detail:   map[string]string{"removed_login": plan.Remove.Login, "removed_id": fmt.Sprint(plan.Remove.ID)},
		})
	})
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal || errors.Is(err, lanyard.ErrNotFound) {
			return MergePlan{}, err
		}
		return MergePlan{}, fmt.Errorf("merge %s into %s: %w", removeLogin, keepLogin, err)
	}
	s.logChange(ctx, "user.merge", actor, "tenant", t.Slug, "keep", plan.Keep.Login, "removed", plan.Remove.Login)
	return plan, nil
}
