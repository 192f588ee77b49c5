package gotoauth

// Endpoint is a GoTo authorization server: where the browser consents and
// where codes and refresh tokens are exchanged.
type Endpoint struct {
	AuthURL  string
	TokenURL string
}

// CurrentEndpoint is GoTo's authorization server, the default.
var CurrentEndpoint = Endpoint{
	AuthURL:  "https://authentication.logmeininc.com/oauth/authorize",
	TokenURL: "https://authentication.logmeininc.com/oauth/token",
}

// LegacyEndpoint is the api.getgo.com/oauth/v2 server the original GoTo guide
// documents. GoTo has announced it as decommissioned; it stays selectable for
// clients that have not migrated yet.
var LegacyEndpoint = Endpoint{
	AuthURL:  "https://api.getgo.com/oauth/v2/authorize",
	TokenURL: "https://api.getgo.com/oauth/v2/token",
}
