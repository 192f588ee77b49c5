package gotoauth

// Endpoint is a GoTo authorization server: where the browser consents, where
// codes and refresh tokens are exchanged, and where a refresh token is
// revoked (RevokeURL, RFC 7009; "" turns Client.Revoke off, except in the
// zero Endpoint, which means GoTo's own three URLs).
type Endpoint struct {
	AuthURL   string
	TokenURL  string
	RevokeURL string
}
