package gotoauth

import (
	"errors"
	"fmt"
	"time"
)

// OAuthError is an OAuth 2.0 error answer from the token endpoint: a JSON
// body with an "error" code such as invalid_grant or invalid_client.
//
// Description is the provider's error_description as it came. Some servers
// quote the code or token they refused in it, so Error leaves it out: log
// it only where secrets may be.
type OAuthError struct {
	StatusCode  int
	Code        string
	Description string
}

// Error describes the failure without any secret: the status and the
// (sanitised) error code.
func (e *OAuthError) Error() string {
	return fmt.Sprintf("gotoauth: token endpoint answered %d %s", e.StatusCode, safeCode(e.Code))
}

// EndpointGoneError is the answer of a decommissioned endpoint: a JSON body
// with a "message" and no OAuth error code, as the legacy api.getgo.com host
// gives after its shutdown. It means the connector is configured with the
// wrong endpoint, not that the connection is dead. Message is the body's
// message as it came (Error leaves it out).
type EndpointGoneError struct {
	StatusCode int
	Message    string
}

// Error describes the failure without any secret.
func (e *EndpointGoneError) Error() string {
	return fmt.Sprintf("gotoauth: token endpoint answered %d with a message and no OAuth error (is GOTO_TOKEN_URL a decommissioned endpoint?)", e.StatusCode)
}

// RateLimitError is a 429 answer. RetryAfter is GoTo's Retry-After, or zero
// when it sent none.
type RateLimitError struct {
	RetryAfter time.Duration
}

// Error describes the failure without any secret.
func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("gotoauth: token endpoint rate limit (429), retry after %s", e.RetryAfter)
	}
	return "gotoauth: token endpoint rate limit (429)"
}

// ServerError is a 5xx answer that carries no OAuth error.
type ServerError struct {
	StatusCode int
}

// Error describes the failure without any secret.
func (e *ServerError) Error() string {
	return fmt.Sprintf("gotoauth: token endpoint failed with %d", e.StatusCode)
}

// UnreadableResponseError is an answer that is not the JSON a token endpoint
// must send: HTML, an empty body, truncated or malformed JSON, or a token
// without an access_token.
type UnreadableResponseError struct {
	StatusCode  int
	ContentType string
	Reason      string
}

// Error describes the failure without any secret.
func (e *UnreadableResponseError) Error() string {
	return fmt.Sprintf("gotoauth: unreadable token endpoint answer (%d, %q): %s", e.StatusCode, e.ContentType, e.Reason)
}

// TimeoutError is a token request that got no answer in time. Sent tells
// whether the whole request had reached GoTo (then it may have used the code
// or rotated the refresh token) or not (then nothing happened at GoTo). For
// a code exchange, never send the code again either way.
type TimeoutError struct {
	Sent bool
	Err  error
}

// Error describes the failure without any secret.
func (e *TimeoutError) Error() string {
	return "gotoauth: token endpoint did not answer in time: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// NetworkError is a token request that failed before an answer arrived, for
// a reason other than a timeout (connection refused, DNS, TLS).
type NetworkError struct {
	Err error
}

// Error describes the failure without any secret.
func (e *NetworkError) Error() string {
	return "gotoauth: token endpoint unreachable: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *NetworkError) Unwrap() error { return e.Err }

// ErrNotConfigured: a Client, Store or TokenSource is missing something it
// needs (a zero value, a nil field, a store that requires encryption
// without a cipher). It is a configuration error.
var ErrNotConfigured = errors.New("gotoauth: not configured")

// ErrLimiter wraps a failure of the rate limiter other than the caller's
// deadline (for example DynamoDB throttling the shared rate-limit window).
// The refresh did not start; it is transient, and loud: the sweep logs it at
// ERROR and counts it.
var ErrLimiter = errors.New("gotoauth: rate limiter failed")

// ErrInvalidConnectionID: a connection id outside the connect link's
// character set (1 to 128 of A-Z a-z 0-9 . _ : -).
var ErrInvalidConnectionID = errors.New("gotoauth: invalid connection id (1 to 128 of A-Z a-z 0-9 . _ : -)")

// ErrStore wraps a failure of DynamoDB or of KMS (unreachable, throttled,
// timed out, access denied, a data key KMS refuses): transient, nothing was
// changed. After GoTo answered a refresh, it is retried with the store's
// budget and then reported as StoreFailed; a read that cannot get its data
// key from KMS is transient, never reauth_required.
var ErrStore = errors.New("gotoauth: connection store unavailable")

// ErrTokenKey wraps failures to decrypt a stored token: the token
// encryption key it names is not configured, or the value is damaged. It is
// a configuration error: the connection is kept and an operator must act.
var ErrTokenKey = errors.New("gotoauth: stored token cannot be decrypted")

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
	var oe *OAuthError
	var gone *EndpointGoneError
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

// IsPermanent reports whether err means the customer must connect again.
func IsPermanent(err error) bool { return err != nil && Classify(err) == Permanent }

// IsTransient reports whether err may go away by itself, so that trying again
// later is right.
func IsTransient(err error) bool { return err != nil && Classify(err) == Transient }

// ErrorCode is a short, secret-free code for err, fit for logs, metrics and
// the status a browser is sent back with: the OAuth error code, or one of
// rate_limited, server_error, timeout, unreachable, unreadable_response,
// endpoint_gone, token_key, not_found, reauth_required, no_refresh_token,
// invalid_request, bad_signature, link_expired, not_configured,
// rate_limiter, store_unavailable, or unknown.
func ErrorCode(err error) string {
	var (
		oe   *OAuthError
		gone *EndpointGoneError
		rl   *RateLimitError
		se   *ServerError
		ur   *UnreadableResponseError
		te   *TimeoutError
		ne   *NetworkError
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
		return safeCode(oe.Code)
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

// safeCode keeps an error code only when it looks like one (lower-case
// letters, digits and underscores, at most 64), so that nothing a provider
// or an attacker sends ends up verbatim in a URL, a page or a log.
func safeCode(code string) string {
	if code == "" || len(code) > 64 {
		return "unknown"
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "unknown"
		}
	}
	return code
}

// SafeErrorCode returns code if it has the form of an OAuth error code, or
// "unknown". Use it before echoing an error code from a redirect.
func SafeErrorCode(code string) string { return safeCode(code) }
