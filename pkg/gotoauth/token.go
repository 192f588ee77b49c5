package gotoauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Token is GoTo's answer to a code exchange or a refresh. Every field GoTo
// documents is kept; none but AccessToken is required, because the legacy and
// the current hosts send different sets: the legacy api.getgo.com host sends
// the identity fields (account_key, organizer_key, email, firstName, ...),
// the current authentication.logmeininc.com host sends scope and principal,
// and not always token_type or refresh_token.
//
// A Token holds secrets: never log it. Its String method prints no token.
type Token struct {
	// AccessToken authorizes API calls as "Authorization: Bearer ...".
	AccessToken string
	// TokenType is "Bearer" when GoTo sends it.
	TokenType string
	// RefreshToken is empty when the answer carried none; a caller then
	// keeps the refresh token it already had.
	RefreshToken string
	// Expiry is when the access token expires, computed from expires_in
	// (a number, or a string in older answers) at the time of the answer.
	// An answer without a readable expires_in gets GoTo's documented life,
	// an hour, so Expiry is never zero on a parsed Token.
	Expiry time.Time

	// Identity is who the token belongs to (any field may be missing:
	// the legacy host sends the keys, email and names, the current one
	// principal and scope).
	Identity
	// Version is GoTo's "version" field of the answer (the legacy host sends
	// "3"); it is not the store's write counter (Connection.Revision).
	Version string

	// Raw is every field of the JSON answer, including those above.
	Raw map[string]any
}

// String describes the token without any secret in it.
func (t *Token) String() string {
	return fmt.Sprintf("gotoauth.Token{expiry: %s, account: %q, refresh token: %t}",
		t.Expiry.UTC().Format(time.RFC3339), t.Account(), t.RefreshToken != "")
}

// defaultAccessTokenLifetime is GoTo's documented access token life, assumed
// when an answer has no expires_in or one that cannot be read.
const defaultAccessTokenLifetime = time.Hour

// maxExpiresIn caps a believable expires_in (older answers sent
// "30758399", about a year); beyond it the default life is assumed.
const maxExpiresIn = 10 * 365 * 24 * 3600

// parseToken decodes a token endpoint answer. now is the time the answer
// arrived, from which expires_in counts.
func parseToken(body []byte, now time.Time) (*Token, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	t := &Token{Raw: raw}
	str := func(key string) string {
		switch v := raw[key].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		default:
			return ""
		}
	}
	t.AccessToken = str("access_token")
	t.TokenType = str("token_type")
	t.RefreshToken = str("refresh_token")
	t.AccountKey = str("account_key")
	t.OrganizerKey = str("organizer_key")
	t.AccountType = str("account_type")
	t.Email = str("email")
	t.FirstName = str("firstName")
	t.LastName = str("lastName")
	t.Version = str("version")
	t.Principal = str("principal")
	t.Scope = str("scope")
	if t.AccessToken == "" {
		return nil, fmt.Errorf("no access_token in the answer")
	}
	// A usable token must not be thrown away (it may carry the only valid
	// refresh token), nor treated as always expired: without a readable
	// expires_in, assume GoTo's documented hour.
	secs, err := strconv.ParseFloat(str("expires_in"), 64)
	if err != nil || math.IsNaN(secs) || secs < 0 || secs > maxExpiresIn {
		secs = defaultAccessTokenLifetime.Seconds()
	}
	t.Expiry = now.Add(time.Duration(secs * float64(time.Second)))
	return t, nil
}
