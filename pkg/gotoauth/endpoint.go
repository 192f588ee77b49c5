package gotoauth

// Endpoint is a GoTo authorization server: where the browser consents and
// where codes and refresh tokens are exchanged.
type Endpoint struct {
	AuthURL  string
	TokenURL string
}
