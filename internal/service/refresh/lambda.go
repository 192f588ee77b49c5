package refresh

import (
	"context"
	"encoding/json"
	"os"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// NewHandler returns the refresh function's handler, built from p. Each run
// builds its token source from the current secrets (cached by p.Secrets),
// so a rotated client secret or token key is picked up; the rate limit
// (REFRESH_RATE_LIMIT) holds for this sweep and, through the table, for
// every refresher using the same client id. When GoTo refuses the client
// secret (invalid_client), the secret is re-read once and, if it changed,
// the refused connections are refreshed again with the new one before they
// count as configuration errors.
func NewHandler(p *platform.Parts) func(ctx context.Context, event json.RawMessage) (Summary, error) {
	return func(ctx context.Context, event json.RawMessage) (Summary, error) {
		sec, err := p.Secrets.Get(ctx)
		if err != nil {
			p.Logger.Error("secrets unavailable", "error", err)
			return Summary{}, err
		}
		ts, err := p.TokenSource(sec, gotoauth.WithRateLimit(p.Config.RefreshRateLimit))
		if err != nil {
			p.Logger.Error("cannot build the token source", "error", err)
			return Summary{}, err
		}
		s := &Sweeper{Source: ts, Logger: p.Logger, Metrics: os.Stdout,
			RotatedClient: func(ctx context.Context) *gotoauth.TokenSource {
				r, ok := p.Secrets.(secrets.Reloader)
				if !ok {
					return nil
				}
				fresh, err := r.Reload(ctx)
				if err != nil || fresh.ClientSecret == sec.ClientSecret {
					return nil
				}
				ts, err := p.TokenSource(fresh, gotoauth.WithRateLimit(p.Config.RefreshRateLimit))
				if err != nil {
					return nil
				}
				return ts
			}}
		return s.Handle(ctx, event)
	}
}
