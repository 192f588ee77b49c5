package connections

import (
	"context"
	"log/slog"
)

// The audit records, one log line each in the connections function's log
// (kept AuditRetentionDays): "audit" is the record's kind.
const (
	auditTokenReleased = "token_released" // an access token was handed out
	auditDisconnected  = "disconnected"   // a connection was deleted
)

// audit writes one audit line: which connection, who asked (the IAM
// identity API Gateway authorized, the source address, API Gateway's
// request id) and the record's own attributes. It never holds a token.
func (a *App) audit(ctx context.Context, kind, id string, who caller, attrs ...slog.Attr) {
	all := append([]slog.Attr{
		slog.String("audit", kind),
		slog.String("connection_id", id),
		slog.String("caller_arn", who.arn),
		slog.String("caller_account", who.account),
		slog.String("caller_id", who.callerID),
		slog.String("source_ip", who.sourceIP),
		slog.String("request_id", who.requestID),
	}, attrs...)
	a.logger().LogAttrs(ctx, slog.LevelInfo, "audit: "+kind, all...)
}
