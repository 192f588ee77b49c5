package gotoauth

import (
	"context"
	"log/slog"
	"time"
)

// auditRelease writes WithAudit's record of c's access token handed to the
// caller: which connection, whether this call refreshed it and its expiry;
// never the token.
func (ts *TokenSource) auditRelease(ctx context.Context, c *Connection, refreshed bool) {
	ts.audit.LogAttrs(ctx, slog.LevelInfo, "audit: token_released",
		slog.String("audit", "token_released"),
		slog.String("connection_id", c.ConnectionID),
		slog.Bool("refreshed", refreshed),
		slog.String("expires_at", c.AccessTokenExpiresAt.UTC().Format(time.RFC3339)))
}
