package refresh

import (
	"context"
	"encoding/json"
	"os"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// NewHandler returns the refresh function's handler, built from p. The rate limiter
// (REFRESH_RATE_LIMIT for this sweep and, through the table, for every
// refresher using the same client id) and the lease owner id are made once,
// at cold start; the store and GoTo
// client are built per run from the current secrets.
func NewHandler(p *platform.Parts) func(ctx context.Context, event json.RawMessage) (Summary, error) {
	limiter := gotoauth.NewRateLimit(gotoauth.NewStore(p.DB, p.Config.TableName), p.Config.ClientID, p.Config.RefreshRateLimit)
	owner := gotoauth.NewOwnerID("refresh")
	return func(ctx context.Context, event json.RawMessage) (Summary, error) {
		sec, err := p.Secrets.Get(ctx)
		if err != nil {
			p.Logger.Error("secrets unavailable", "error", err)
			return Summary{}, err
		}
		s := &Sweeper{
			Refresher: &gotoauth.Refresher{
				Store: gotoauth.NewStore(p.DB, p.Config.TableName,
					gotoauth.WithTokenCipher(sec.TokenCipher),
					gotoauth.WithSchedule(p.Config.Schedule)),
				Client: &gotoauth.Client{
					ClientID:     p.Config.ClientID,
					ClientSecret: sec.ClientSecret,
					RedirectURL:  p.Config.RedirectURI,
					Endpoint:     p.Config.Endpoint,
					HTTPClient:   p.HTTPClient,
				},
				Limiter: limiter,
				Owner:   owner,
				OnAtRisk: func(c *gotoauth.Connection, err error) {
					p.Logger.Error("refresh token about to expire while refreshes fail: the connection will die unless this is fixed",
						"connection_id", c.ConnectionID, "refresh_token_expires_at", c.RefreshTokenExpiresAt, "error_code", gotoauth.ErrorCode(err))
				},
			},
			Logger:  p.Logger,
			Metrics: os.Stdout,
		}
		return s.Handle(ctx, event)
	}
}
