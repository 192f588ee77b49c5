package gototest

import "time"

// Default configuration values.
const (
	// DefaultClientID is the client ID a Server accepts unless WithClient
	// says otherwise.
	DefaultClientID = "gototest-client"
	// DefaultClientSecret is the client secret a Server accepts unless
	// WithClient says otherwise. It contains '+', '/' and '=' so that a
	// client which form-encodes its credentials before building the Basic
	// header (as RFC 6749 §2.3.1 and golang.org/x/oauth2 do) is rejected,
	// as GoTo rejects it.
	DefaultClientSecret = "s3cr+t/Value=="
	// DefaultScope is the scope granted when an authorization request names
	// none (see WithDefaultScope).
	DefaultScope = "collab:"

	// DefaultAccessTokenLifetime is how long an access token is valid.
	DefaultAccessTokenLifetime = 3600 * time.Second
	// DefaultRefreshTokenLifetime is how long a refresh token is valid.
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	// DefaultCodeLifetime is how long an authorization code is valid.
	DefaultCodeLifetime = 600 * time.Second
)

// Option configures a Server; pass options to NewServer or
// NewUnstartedServer.
type Option func(*Server)

// Style selects the shape of token responses.
type Style int

const (
	// StyleCurrent answers like authentication.logmeininc.com: access_token,
	// token_type, refresh_token (when one is issued), expires_in, scope and
	// principal (the user's email). It is the default.
	StyleCurrent Style = iota
	// StyleLegacy answers like the legacy host api.getgo.com/oauth/v2:
	// access_token, token_type, refresh_token (when one is issued),
	// expires_in, account_key, account_type, email, firstName, lastName,
	// organizer_key and version.
	StyleLegacy
)

// String returns "current" or "legacy".
func (st Style) String() string {
	switch st {
	case StyleCurrent:
		return "current"
	case StyleLegacy:
		return "legacy"
	default:
		return "Style(invalid)"
	}
}

// Identity is the user who consents on the server's authorization page. It
// shapes the token responses (StyleLegacy) and the /admin/rest/v1/me answer.
type Identity struct {
	// Email is the user's email address.
	Email string
	// FirstName is the user's first name.
	FirstName string
	// LastName is the user's last name.
	LastName string
	// AccountKey is the GoTo account key (legacy account_key; may be blank).
	AccountKey string
	// OrganizerKey is the GoTo organizer key (legacy organizer_key).
	OrganizerKey string
	// AccountType is "personal", "corporate" or blank.
	AccountType string
	// Principal is the current host's principal; Email when empty.
	Principal string
}

// DefaultIdentity returns the identity a Server uses unless WithIdentity says
// otherwise: the sample user of GoTo's documentation.
func DefaultIdentity() Identity {
	return Identity{
		Email:        "mister.jones@fakemail.com",
		FirstName:    "Moon",
		LastName:     "Beam",
		AccountKey:   "9999982253621659654",
		OrganizerKey: "8439885694023999999",
		AccountType:  "",
		Principal:    "mister.jones@fakemail.com",
	}
}

// WithClient sets the only client the server knows.
func WithClient(id, secret string) Option {
	return func(s *Server) {
		s.ClientID = id
		s.ClientSecret = secret
	}
}

// WithRedirectURIs registers redirect URIs for the client. The authorization
// endpoint then accepts only those, compared byte for byte. When none are
// registered, any absolute http or https URI without a fragment is accepted.
func WithRedirectURIs(uris ...string) Option {
	return func(s *Server) {
		s.redirectURIs = append(s.redirectURIs, uris...)
	}
}

// WithStyle selects the token response shape; the default is StyleCurrent.
func WithStyle(st Style) Option {
	return func(s *Server) { s.style = st }
}

// WithSingleUseRefreshTokens makes every refresh return a new refresh token
// and kills the one used (it then gets invalid_grant). It is
// WithRefreshTokenRotation(RotationSingleUse()).
func WithSingleUseRefreshTokens() Option {
	return WithRefreshTokenRotation(RotationSingleUse())
}

// WithRefreshTokenRotation sets what a refresh does to the refresh token;
// the default is RotationKeep.
func WithRefreshTokenRotation(r Rotation) Option {
	return func(s *Server) { s.rotation = r }
}

// WithAccessTokenLifetime sets how long access tokens are valid (default
// 3600s); expires_in reports it in whole seconds.
func WithAccessTokenLifetime(d time.Duration) Option {
	return func(s *Server) { s.accessLifetime = d }
}

// WithRefreshTokenLifetime sets how long a refresh token is valid from the
// moment it is issued (default 30 days). Using it does not extend it.
func WithRefreshTokenLifetime(d time.Duration) Option {
	return func(s *Server) { s.refreshLifetime = d }
}

// WithCodeLifetime sets how long an authorization code is valid (default
// 600s).
func WithCodeLifetime(d time.Duration) Option {
	return func(s *Server) { s.codeLifetime = d }
}

// WithClock sets the clock every expiry decision uses (default time.Now).
// It must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithIdentity sets the user who consents. An empty Principal defaults to
// Email; other fields are used as given, blank or not.
func WithIdentity(id Identity) Option {
	return func(s *Server) {
		if id.Principal == "" {
			id.Principal = id.Email
		}
		s.identity = id
	}
}

// WithDelay delays every answer of the token endpoint by d, injected
// failures included. The request is processed after the delay even if the
// client gave up waiting.
func WithDelay(d time.Duration) Option {
	return func(s *Server) { s.delay = d }
}

// WithExpiresInAsString sends expires_in as a JSON string ("3600"), as
// older GoTo responses did, instead of a number.
func WithExpiresInAsString() Option {
	return func(s *Server) { s.expiresInString = true }
}

// WithDefaultScope sets the scope granted (and reported in StyleCurrent
// responses) when an authorization request names none; default "collab:".
func WithDefaultScope(scope string) Option {
	return func(s *Server) { s.defaultScope = scope }
}
