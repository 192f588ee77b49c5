package gotoauth

import (
	"errors"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
)

// Errors. Each has one Class; errors.Is matches them on what the package
// returns, wrapped or not.
var (
	// ErrNotFound: no connection has that id.
	ErrNotFound = errors.New("gotoauth: connection not found")
	// ErrReauthRequired: the connection needs the customer to connect
	// again; errors.Is matches it on the error of TokenSource.AccessToken.
	ErrReauthRequired = errors.New("gotoauth: connection needs to be connected again")
	// ErrNoRefreshToken: a code exchange answered without a refresh token,
	// so the connection could not be kept alive; it is not stored.
	ErrNoRefreshToken = errors.New("gotoauth: GoTo sent no refresh token with the code exchange")

	// Errors of VerifyLink. A malformed link is the caller's mistake (400);
	// a bad signature or an expired link is refused (403).
	ErrLinkMalformed = errors.New("gotoauth: malformed connect link")
	ErrLinkSignature = errors.New("gotoauth: connect link signature does not match")
	ErrLinkExpired   = errors.New("gotoauth: connect link has expired")
	// ErrInvalidConnectionID: a connection id outside the connect link's
	// character set (1 to 128 of A-Z a-z 0-9 . _ : -).
	ErrInvalidConnectionID = errors.New("gotoauth: invalid connection id (1 to 128 of A-Z a-z 0-9 . _ : -)")
	// ErrInvalidListing: ListConnections was given a status it cannot
	// list, a limit out of range or a cursor it did not hand out. It is
	// the caller's mistake: asking again the same way fails the same way.
	ErrInvalidListing = errors.New("gotoauth: invalid listing request")

	// ErrStore wraps a failure of DynamoDB or of KMS (unreachable,
	// throttled, timed out, access denied, a data key KMS refuses):
	// transient, nothing was changed. After GoTo answered a refresh, it is
	// retried with the store's budget and then reported as StoreFailed; a
	// read that cannot get its data key from KMS is transient, never
	// reauth_required.
	ErrStore = errors.New("gotoauth: connection store unavailable")
	// ErrLimiter wraps a failure of the rate limiter other than the
	// caller's deadline (for example DynamoDB throttling the shared
	// rate-limit window). The refresh did not start; it is transient, and
	// loud: the sweep logs it at ERROR and counts it.
	ErrLimiter = errors.New("gotoauth: rate limiter failed")

	// ErrNotConfigured: a Client, Store or TokenSource is missing something
	// it needs (a zero value, a nil field, a store that requires
	// encryption without a cipher). It is a configuration error.
	ErrNotConfigured = errors.New("gotoauth: not configured")
	// ErrTokenKey wraps failures to decrypt a stored token: the token
	// encryption key it names is not configured, or the value is damaged.
	// It is a configuration error: the connection is kept and an operator
	// must act.
	ErrTokenKey = errors.New("gotoauth: stored token cannot be decrypted")
	// ErrNoActiveKey: re-encryption needs a store with a token cipher or a
	// KMS cipher.
	ErrNoActiveKey = errors.New("gotoauth: re-encryption needs token encryption keys or a KMS key")
)

// Class sorts an error of this package by what the caller should do about
// it. Every error the package returns has exactly one class; the table in
// errors_test.go lists them.
type Class int

const (
	// Transient failures (timeouts, 5xx, 429, unreachable, unreadable
	// answers, a store or rate limiter that failed) leave everything as it
	// was: try again later.
	Transient Class = iota
	// Permanent failures (invalid_grant and the like, ErrReauthRequired)
	// mean the grant is dead: the customer must connect again.
	Permanent
	// Configuration failures (invalid_client, a decommissioned endpoint, a
	// token key that is missing, a value built without its constructor) are
	// the operator's to fix; the customer's grant is probably fine.
	Configuration
	// NotFound: there is no such connection (ErrNotFound). Trying again
	// does not help; connecting does.
	NotFound
	// Invalid: the caller's input is wrong (a connect link that is
	// malformed, badly signed or expired; a connection id outside the
	// allowed characters). Trying again with the same input does not help.
	Invalid
)

// String names the class: transient, permanent, configuration, not_found
// or invalid.
func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Configuration:
		return "configuration"
	case NotFound:
		return "not_found"
	case Invalid:
		return "invalid"
	default:
		return "transient"
	}
}

// Classify tells what an error of this package means. Errors that are not
// from this package count as transient.
func Classify(err error) Class {
	var oe *oauth.OAuthError
	var gone *oauth.EndpointGoneError
	switch {
	case errors.Is(err, ErrNotFound):
		return NotFound
	case errors.Is(err, ErrReauthRequired), errors.Is(err, ErrNoRefreshToken):
		return Permanent
	case errors.Is(err, ErrLinkMalformed), errors.Is(err, ErrLinkSignature), errors.Is(err, ErrLinkExpired), errors.Is(err, ErrInvalidConnectionID), errors.Is(err, ErrInvalidListing):
		return Invalid
	case errors.Is(err, ErrTokenKey), errors.Is(err, ErrNotConfigured), errors.Is(err, ErrNoActiveKey):
		return Configuration
	case errors.As(err, &gone):
		return Configuration
	case errors.As(err, &oe):
		switch oe.Code {
		case "invalid_grant", "invalid_scope", "access_denied":
			return Permanent
		case "temporarily_unavailable", "server_error", "slow_down":
			return Transient
		default:
			// invalid_client, unauthorized_client, unsupported_grant_type,
			// invalid_request and codes nobody documented: keep the grant,
			// and let an operator look.
			return Configuration
		}
	default:
		return Transient
	}
}

// ErrorCode is a short, secret-free code for err, fit for logs, metrics and
// the status a browser is sent back with: the OAuth error code, or one of
// rate_limited, server_error, timeout, unreachable, unreadable_response,
// endpoint_gone, token_key, not_found, reauth_required, no_refresh_token,
// invalid_request, bad_signature, link_expired, not_configured,
// rate_limiter, store_unavailable, or unknown.
func ErrorCode(err error) string {
	var (
		oe   *oauth.OAuthError
		gone *oauth.EndpointGoneError
		rl   *oauth.RateLimitError
		se   *oauth.ServerError
		ur   *oauth.UnreadableResponseError
		te   *oauth.TimeoutError
		ne   *oauth.NetworkError
	)
	switch {
	case errors.Is(err, ErrTokenKey):
		return "token_key"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrReauthRequired):
		return "reauth_required"
	case errors.Is(err, ErrNoRefreshToken):
		return "no_refresh_token"
	case errors.Is(err, ErrLinkMalformed), errors.Is(err, ErrInvalidConnectionID), errors.Is(err, ErrInvalidListing):
		return "invalid_request"
	case errors.Is(err, ErrLinkSignature):
		return "bad_signature"
	case errors.Is(err, ErrLinkExpired):
		return "link_expired"
	case errors.Is(err, ErrNotConfigured), errors.Is(err, ErrNoActiveKey):
		return "not_configured"
	case errors.Is(err, ErrLimiter):
		return "rate_limiter"
	case errors.Is(err, ErrStore):
		return "store_unavailable"
	case errors.As(err, &oe):
		return oauth.SafeCode(oe.Code)
	case errors.As(err, &gone):
		return "endpoint_gone"
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.As(err, &se):
		return "server_error"
	case errors.As(err, &ur):
		return "unreadable_response"
	case errors.As(err, &te):
		return "timeout"
	case errors.As(err, &ne):
		return "unreachable"
	default:
		return "unknown"
	}
}
