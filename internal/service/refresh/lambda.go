package refresh

import (
	"context"
	"encoding/json"
	"os"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// NewHandler returns the refresh function's handler, built from p. Its
// token source is built once per version of the secrets (a rotated client
// secret or token key is picked up) and kept across warm invocations, with
// any answer of GoTo whose store is still to be retried; the rate limit
// (REFRESH_RATE_LIMIT) holds for this sweep and, through the table, for
// every refresher using the same client id. When GoTo refuses the client
// secret (invalid_client), the secret is re-read once and, if it changed,
// the refused connections are refreshed again with the new one before they
// count as configuration errors.
func NewHandler(p *platform.Parts) func(ctx context.Context, event json.RawMessage) (Summary, error) {
	built := p.PerSecrets(gotoauth.WithRateLimit(p.Config.RefreshRateLimit))
	return func(ctx context.Context, event json.RawMessage) (Summary, error) {
		b, err := built(ctx)
		if err != nil {
			p.Logger.Error("secrets or token source unavailable", "error", err)
			return Summary{}, err
		}
		s := &Sweeper{Source: b.Tokens, Logger: p.Logger, Metrics: os.Stdout,
			RotatedClient: func(ctx context.Context) *gotoauth.TokenSource {
				r, ok := p.Secrets.(secrets.Reloader)
				if !ok {
					return nil
				}
				fresh, err := r.Reload(ctx)
				if err != nil || fresh.ClientSecret == b.Secrets.ClientSecret {
					return nil
				}
				again, err := built(ctx) // the reloaded secrets are the current ones now
				if err != nil {
					return nil
				}
				return again.Tokens
			}}
		return s.Handle(ctx, event)
	}
}
