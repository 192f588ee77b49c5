// Package connections serves the Connections API: SaaS backends in any
// language read a connection, get a fresh access token, disconnect a
// customer and list the connections that need the customer again, over
// IAM-authorized HTTP (API Gateway HTTP API, payload format 2.0):
//
//	GET    /connections/{connection_id}
//	GET    /connections/{connection_id}/token?min_valid=<seconds>
//	DELETE /connections/{connection_id}
//	GET    /connections?status=reauth_required&limit=<n>&cursor=<c>
//
// Every answer is JSON with Cache-Control: no-store; DESIGN.md and
// README.md hold the contract. App.Handle is a plain function of the
// request: the Lambda function and the local server both call it.
package connections

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// App serves the Connections API. Build it once at cold start.
type App struct {
	// Deps returns the store and the token source to serve a request with
	// (built from the current secrets: the token cipher and the client
	// secret).
	Deps func(ctx context.Context) (*gotoauth.Store, *gotoauth.TokenSource, error)
	// Revoke revokes a deleted connection's refresh token at GoTo (RFC
	// 7009, GOTO_REVOKE_URL); nil turns revocation off.
	Revoke func(ctx context.Context, refreshToken string) error
	// Metrics receives one CloudWatch Embedded Metric Format line per
	// revocation attempt (metric Revocations, dimension Outcome: revoked or
	// failed); os.Stdout in Lambda, nil writes none.
	Metrics io.Writer
	// Events receives connection.disconnected; nil publishes nothing.
	Events gotoauth.EventSink
	// Logger receives one line per request; never a token.
	Logger *slog.Logger
	// Now is the clock (expires_in); nil means time.Now.
	Now func() time.Time
	// RequireIAM refuses requests that API Gateway did not authorize with
	// IAM (a route deployed without AWS_IAM must not hand out tokens). The
	// Lambda function sets it; the local server, which has no IAM, does not.
	RequireIAM bool
}

// NewApp returns the App of the connections function, built from its parts.
// The store and token source are built again only when the secrets change
// (Secrets Manager rotation). On-demand refreshes take slots of the shared
// rate limit (REFRESH_RATE_LIMIT), and the token source keeps no token
// cache: every answer reads the table, so a deleted or re-authorized
// connection is never served from memory.
func NewApp(p *platform.Parts) *App {
	built := p.PerSecrets(gotoauth.WithRateLimit(p.Config.RefreshRateLimit), gotoauth.WithCacheSize(0))
	deps := func(ctx context.Context) (*gotoauth.Store, *gotoauth.TokenSource, error) {
		b, err := built(ctx)
		if err != nil {
			return nil, nil, err
		}
		return b.Store, b.Tokens, nil
	}
	a := &App{Deps: deps, Events: p.Events, Logger: p.Logger, RequireIAM: true, Metrics: os.Stdout}
	if p.Config.Endpoint.RevokeURL != "" {
		a.Revoke = func(ctx context.Context, refreshToken string) error {
			sec, err := p.Secrets.Get(ctx)
			if err != nil {
				return err
			}
			return p.GoToClient(sec).Revoke(ctx, refreshToken)
		}
	}
	return a
}

// Static returns a Deps that always answers store and ts (tests, local runs).
func Static(store *gotoauth.Store, ts *gotoauth.TokenSource) func(context.Context) (*gotoauth.Store, *gotoauth.TokenSource, error) {
	return func(context.Context) (*gotoauth.Store, *gotoauth.TokenSource, error) { return store, ts, nil }
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *App) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
