package connections

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// answerMargin is kept free before the invocation's deadline to answer 503
// rather than let the invocation time out.
const answerMargin = time.Second

// get answers GET /connections/{connection_id}.
func (a *App) get(ctx context.Context, id string, log *slog.Logger) Response {
	store, _, err := a.Deps(ctx)
	if err != nil {
		return a.failed(err, log)
	}
	c, err := store.Connection(ctx, id)
	if err != nil {
		return a.failed(err, log)
	}
	return answer(http.StatusOK, view(c))
}

// token answers GET /connections/{connection_id}/token: an access token
// valid for at least minValid seconds, refreshed first through the
// connection's lease when the stored one has less.
func (a *App) token(ctx context.Context, id string, minValid int, who caller, log *slog.Logger) Response {
	store, ts, err := a.Deps(ctx)
	if err != nil {
		return a.failed(err, log)
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-answerMargin))
		defer cancel()
	}
	want := time.Duration(minValid) * time.Second
	asked := a.now()
	c, err := ts.ConnectionValidFor(ctx, id, want)
	if errors.Is(err, gotoauth.ErrReauthRequired) {
		// The reason is stored with the mark.
		reason := ""
		if cur, rerr := store.Connection(context.WithoutCancel(ctx), id); rerr == nil {
			reason = cur.ReauthReason
		}
		log.Info("reauth_required", "reason", reason)
		return reauthRequired(reason)
	}
	if err != nil {
		return a.failed(err, log)
	}
	now := a.now()
	if !c.AccessTokenExpiresAt.After(now.Add(want)) {
		// A refresh failed and left a token with less than asked for (or
		// GoTo issues tokens shorter-lived than min_valid).
		log.Warn("no token valid for min_valid: the refresh failed, or GoTo's tokens live shorter",
			"min_valid", minValid, "expires_in", int64(c.AccessTokenExpiresAt.Sub(now).Seconds()), "error_code", c.LastError)
		return unavailable(5)
	}
	a.audit(ctx, auditTokenReleased, id, who,
		slog.Bool("refreshed", !c.RefreshedAt.Before(asked)), // refreshed by this request (or by another in the same instant)
		slog.String("expires_at", rfc3339(c.AccessTokenExpiresAt)))
	return answer(http.StatusOK, tokenView{
		AccessToken:  c.AccessToken,
		TokenType:    "Bearer",
		ExpiresAt:    rfc3339(c.AccessTokenExpiresAt),
		ExpiresIn:    int64(math.Floor(c.AccessTokenExpiresAt.Sub(now).Seconds())),
		OrganizerKey: c.OrganizerKey,
		AccountKey:   c.AccountKey,
	})
}

// delete answers DELETE /connections/{connection_id}: 204 whether or not
// it existed; connection.disconnected when something was deleted.
func (a *App) delete(ctx context.Context, id string, who caller, log *slog.Logger) Response {
	store, _, err := a.Deps(ctx)
	if err != nil {
		return a.failed(err, log)
	}
	old, err := store.DeleteConnection(ctx, id)
	if err != nil {
		return a.failed(err, log)
	}
	if old == nil {
		log.Info("nothing to delete")
		return noContent()
	}
	revoked := a.revoke(ctx, old.RefreshToken, log)
	log.Info("disconnected", "revoked", revoked)
	a.audit(ctx, auditDisconnected, id, who, slog.Bool("revoked", revoked))
	ev := old.Event(gotoauth.EventDisconnected, "", a.now())
	ev.Status = gotoauth.StatusDisconnected
	ev.Revoked = &revoked
	platform.Publish(ctx, a.Events, log, ev)
	return noContent()
}

// revokeTimeout bounds revoking a deleted connection's refresh token: the
// DELETE waits for it (a Lambda function may be frozen once it answered),
// but never long.
const revokeTimeout = 3 * time.Second

// revoke revokes the refresh token of a deleted connection, best effort: a
// failure is logged (never the token) and counted, and changes nothing else.
func (a *App) revoke(ctx context.Context, refreshToken string, log *slog.Logger) bool {
	if a.Revoke == nil || refreshToken == "" {
		return false
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	err := a.Revoke(rctx, refreshToken)
	outcome := "revoked"
	if err != nil {
		outcome = "failed"
		log.Warn("revoking the refresh token at GoTo failed (the connection is deleted)", "error", err.Error())
	}
	writeRevocationMetric(a.Metrics, outcome)
	return err == nil
}

// writeRevocationMetric writes one EMF line: Revocations 1, dimension
// Outcome (revoked or failed), namespace GoToConnector.
func writeRevocationMetric(w io.Writer, outcome string) {
	if w == nil {
		return
	}
	b, _ := json.Marshal(map[string]any{
		"Outcome": outcome, "Revocations": 1,
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "GoToConnector",
				"Dimensions": [][]string{{"Outcome"}},
				"Metrics":    []map[string]string{{"Name": "Revocations", "Unit": "Count"}},
			}},
		},
	})
	_, _ = w.Write(append(b, '\n'))
}

// list answers GET /connections?status=reauth_required&limit=&cursor=.
func (a *App) list(ctx context.Context, q url.Values, log *slog.Logger) Response {
	status := q.Get("status")
	if status != string(gotoauth.StatusReauthRequired) {
		return invalid("status must be reauth_required")
	}
	limit, msg := intParam(q, "limit", DefaultLimit, 1, MaxLimit)
	if msg != "" {
		return invalid(msg)
	}
	store, _, err := a.Deps(ctx)
	if err != nil {
		return a.failed(err, log)
	}
	conns, next, err := store.ListConnections(ctx, gotoauth.Status(status), limit, q.Get("cursor"))
	if errors.Is(err, gotoauth.ErrInvalidListing) {
		return invalid("cursor is not one a listing returned")
	}
	if err != nil {
		return a.failed(err, log)
	}
	out := listView{Connections: make([]connectionView, 0, len(conns)), NextCursor: next}
	for _, c := range conns {
		out.Connections = append(out.Connections, view(c))
	}
	return answer(http.StatusOK, out)
}

// failed answers an error of the store, the token source or the secrets:
// 404 for an unknown connection, 409 when it needs re-authorization, else
// 503 with Retry-After (logged; configuration errors at ERROR, for an
// operator).
func (a *App) failed(err error, log *slog.Logger) Response {
	switch gotoauth.Classify(err) {
	case gotoauth.NotFound:
		return notFound()
	case gotoauth.Permanent:
		return reauthRequired("")
	case gotoauth.Configuration:
		log.Error("the connector's configuration failed: an operator must act", "error_code", gotoauth.ErrorCode(err), "error", err.Error())
		return unavailable(60)
	default:
		log.Warn("transient failure", "error_code", gotoauth.ErrorCode(err), "error", err.Error())
		return unavailable(unavailableAfter(err))
	}
}

// asRateLimit is GoTo's Retry-After in whole seconds when err is a 429.
func asRateLimit(err error) (int, bool) {
	var rl *oauth.RateLimitError
	if errors.As(err, &rl) {
		return int(math.Ceil(rl.RetryAfter.Seconds())), true
	}
	return 0, false
}
