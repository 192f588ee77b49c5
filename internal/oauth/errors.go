package oauth

import (
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
	return fmt.Sprintf("gotoauth: token endpoint answered %d %s", e.StatusCode, SafeCode(e.Code))
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
