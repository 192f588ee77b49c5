package gotoauth

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/gotoconnector/gotoconnector/internal/connid"
)

// importedAttr is the item attribute of Connection.ImportedAt.
const importedAttr = "imported_at"

// Import is a connection made outside the connector (a SaaS's own GoTo
// integration) to bring in with Store.ImportConnection.
type Import struct {
	ConnectionID string
	// RefreshToken is required.
	RefreshToken string
	// AccessToken is optional; with it, AccessTokenExpiresAt is its expiry.
	// Without it, the first caller that needs an access token refreshes.
	AccessToken          string
	AccessTokenExpiresAt time.Time
	// RefreshTokenIssuedAt is when GoTo issued the refresh token; zero when
	// unknown, counted as issued at the import (its lifetime is then
	// assumed to start now).
	RefreshTokenIssuedAt time.Time
	Identity
}

// ImportResult is what ImportConnection did (or, with a dry run, would do).
type ImportResult string

// Results of ImportConnection.
const (
	// Imported: the connection did not exist and is stored now.
	Imported ImportResult = "imported"
	// Replaced: with overwrite, an existing connection holding another
	// refresh token was replaced.
	Replaced ImportResult = "replaced"
	// Unchanged: the connection is stored with this refresh token already
	// (an earlier import, or the same consent); nothing was written.
	Unchanged ImportResult = "unchanged"
	// SkippedExists: the connection exists with another refresh token and
	// overwrite was not asked; nothing was written.
	SkippedExists ImportResult = "skipped-exists"
)

// ImportOptions says how ImportConnection treats existing connections.
type ImportOptions struct {
	// Overwrite replaces an existing connection that holds another refresh
	// token (one connected through the flow, or imported before and
	// rotated since by a refresh).
	Overwrite bool
	// DryRun reads but never writes: the result says what would be done.
	DryRun bool
}

// ImportConnection stores imp as the callback stores a finished consent:
// active, tokens sealed with the store's cipher, scheduled by its Schedule,
// connected_at now, and marked imported (Connection.ImportedAt). An
// existing connection is left alone (SkippedExists) unless opts.Overwrite;
// one that already holds imp's refresh token is Unchanged, so a second
// import of the same input writes nothing. The writes are conditional: a
// consent or a refresh stored meanwhile is never overwritten (the result is
// then SkippedExists). The connection is returned as stored (or as it would
// be, with DryRun); it publishes no event.
func (s *Store) ImportConnection(ctx context.Context, imp *Import, opts ImportOptions) (ImportResult, *Connection, error) {
	if err := s.check(); err != nil {
		return "", nil, err
	}
	if imp == nil || !connid.Valid(imp.ConnectionID) {
		return "", nil, ErrInvalidConnectionID
	}
	if imp.RefreshToken == "" {
		return "", nil, errors.New("gotoauth: an import needs a refresh token")
	}
	now := s.now()
	tok := &Token{AccessToken: imp.AccessToken, RefreshToken: imp.RefreshToken, Identity: imp.Identity}
	if imp.AccessToken != "" {
		tok.Expiry = imp.AccessTokenExpiresAt
	}
	c := s.newConnection(imp.ConnectionID, tok, now, imp.RefreshTokenIssuedAt)
	c.ImportedAt = now

	absent := expression.AttributeNotExists(expression.Name("pk"))
	if !opts.Overwrite && !opts.DryRun {
		// Most imports are new: one conditional write, no read.
		err := s.writeConnection(ctx, c, absent)
		if err == nil {
			return Imported, c, nil
		}
		if !isConditionFailed(err) {
			return "", nil, storeError("importing the connection", err)
		}
	}
	old, err := s.Connection(ctx, imp.ConnectionID)
	switch {
	case errors.Is(err, ErrNotFound):
		if opts.DryRun {
			return Imported, c, nil
		}
		if err := s.writeConnection(ctx, c, absent); err != nil {
			if isConditionFailed(err) {
				return SkippedExists, nil, nil // stored meanwhile
			}
			return "", nil, storeError("importing the connection", err)
		}
		return Imported, c, nil
	case err != nil:
		return "", nil, err
	case old.RefreshToken == imp.RefreshToken:
		return Unchanged, old, nil
	case !opts.Overwrite:
		return SkippedExists, old, nil
	case opts.DryRun:
		return Replaced, c, nil
	}
	// Replace exactly the state read: a refresh or consent stored since wins.
	if err := s.writeConnection(ctx, c, expression.Name("version").Equal(expression.Value(old.Revision))); err != nil {
		if isConditionFailed(err) {
			return SkippedExists, old, nil
		}
		return "", nil, storeError("importing the connection", err)
	}
	return Replaced, c, nil
}
