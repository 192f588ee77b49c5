package gotoauth

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/ops"
)

// importedAttr is the item attribute of Connection.ImportedAt.
const importedAttr = "imported_at"

// ImportConnection stores imp, with the identity id, as the callback stores a finished consent:
// active, tokens sealed with the store's cipher, scheduled by its Schedule,
// connected_at now, and marked imported (Connection.ImportedAt). An
// existing connection is left alone (ops.SkippedExists) unless opts.Overwrite;
// one that already holds imp's refresh token is ops.Unchanged, so a second
// import of the same input writes nothing. The writes are conditional: a
// consent or a refresh stored meanwhile is never overwritten (the result is
// then ops.SkippedExists). The connection is returned as stored (or as it would
// be, with DryRun); it publishes no event.
func (s *Store) ImportConnection(ctx context.Context, imp *ops.Import, id Identity, opts ops.ImportOptions) (ops.ImportResult, *Connection, error) {
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
	tok := &Token{AccessToken: imp.AccessToken, RefreshToken: imp.RefreshToken, Identity: id}
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
			return ops.Imported, c, nil
		}
		if !isConditionFailed(err) {
			return "", nil, storeError("importing the connection", err)
		}
	}
	old, err := s.Connection(ctx, imp.ConnectionID)
	switch {
	case errors.Is(err, ErrNotFound):
		if opts.DryRun {
			return ops.Imported, c, nil
		}
		if err := s.writeConnection(ctx, c, absent); err != nil {
			if isConditionFailed(err) {
				return ops.SkippedExists, nil, nil // stored meanwhile
			}
			return "", nil, storeError("importing the connection", err)
		}
		return ops.Imported, c, nil
	case err != nil:
		return "", nil, err
	case old.RefreshToken == imp.RefreshToken:
		return ops.Unchanged, old, nil
	case !opts.Overwrite:
		return ops.SkippedExists, old, nil
	case opts.DryRun:
		return ops.Replaced, c, nil
	}
	// Replace exactly the state read: a refresh or consent stored since wins.
	if err := s.writeConnection(ctx, c, expression.Name("version").Equal(expression.Value(old.Revision))); err != nil {
		if isConditionFailed(err) {
			return ops.SkippedExists, old, nil
		}
		return "", nil, storeError("importing the connection", err)
	}
	return ops.Replaced, c, nil
}
