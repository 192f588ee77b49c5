package connections

import (
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// connectionView is a connection as the API shows it: status, identity and
// times (RFC 3339, UTC), never a token.
type connectionView struct {
	ConnectionID string `json:"connection_id"`
	Status       string `json:"status"`
	ReauthReason string `json:"reauth_reason,omitempty"`
	gotoauth.Identity
	ConnectedAt           string `json:"connected_at,omitempty"`
	RefreshedAt           string `json:"refreshed_at,omitempty"`
	AccessTokenExpiresAt  string `json:"access_token_expires_at,omitempty"`
	RefreshTokenExpiresAt string `json:"refresh_token_expires_at,omitempty"`
}

func view(c *gotoauth.Connection) connectionView {
	v := connectionView{
		ConnectionID: c.ConnectionID, Status: string(c.Status), Identity: c.Identity,
		ConnectedAt: rfc3339(c.ConnectedAt), RefreshedAt: rfc3339(c.RefreshedAt),
		AccessTokenExpiresAt: rfc3339(c.AccessTokenExpiresAt), RefreshTokenExpiresAt: rfc3339(c.RefreshTokenExpiresAt),
	}
	if c.Status == gotoauth.StatusReauthRequired {
		v.ReauthReason = c.ReauthReason
		if v.ReauthReason == "" {
			v.ReauthReason = "unknown"
		}
	}
	return v
}

// rfc3339 formats t in UTC, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// tokenView is the answer of the token route.
type tokenView struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresAt    string `json:"expires_at"`
	ExpiresIn    int64  `json:"expires_in"`
	OrganizerKey string `json:"organizer_key"`
	AccountKey   string `json:"account_key"`
}

// listView is the answer of the listing route.
type listView struct {
	Connections []connectionView `json:"connections"`
	NextCursor  string           `json:"next_cursor,omitempty"`
}
