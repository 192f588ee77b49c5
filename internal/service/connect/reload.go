package connect

import (
	"context"
	"errors"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
)

// isInvalidClient reports whether GoTo refused the connector's own client
// credentials. GoTo authenticates the client before it looks at the grant
// (RFC 6749 §5.2), so the code or refresh token was not used.
func isInvalidClient(err error) bool {
	var oe *oauth.OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_client"
}

// rotatedClientSecret re-reads the secrets after an invalid_client answer
// and returns the client secret when it differs from the one that was
// refused: the secret was rotated and this function's copy was stale.
func (a *App) rotatedClientSecret(ctx context.Context, refused string) (string, bool) {
	r, ok := a.Secrets.(secrets.Reloader)
	if !ok {
		return "", false
	}
	fresh, err := r.Reload(ctx)
	if err != nil || fresh.ClientSecret == refused {
		return "", false
	}
	return fresh.ClientSecret, true
}
