package gototest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// DecommissionedMessage is the message the decommissioned legacy host
// answers with (see Decommissioned).
const DecommissionedMessage = "This endpoint is no longer valid, see https://developer.goto.com/guides/References/OAuth_Migration/"

// Failure is an answer the token endpoint gives instead of processing the
// request; see FailNext and FailAlways (FailRevocations for the revocation
// endpoint). Build one with OAuthError,
// ServerError, HTMLError, EmptyBody, TruncatedJSON, RateLimited, Slow or
// Decommissioned. The zero Failure is invalid.
//
// An injected failure (except Slow) is decided before the request reaches
// the real logic, so it consumes nothing: the authorization code or refresh
// token the request carried stays as valid as it was.
type Failure struct {
	kind        failureKind
	status      int
	code        string
	description string
	delay       time.Duration
}

type failureKind int

const (
	failOAuth failureKind = iota + 1
	failServer
	failHTML
	failEmpty
	failTruncated
	failRateLimited
	failSlow
	failDecommissioned
)

func checkStatus(status int) {
	if status < 100 || status > 599 {
		panic(fmt.Sprintf("gototest: invalid HTTP status %d", status))
	}
}

// OAuthError answers status with the JSON body
// {"error":code,"error_description":description}. An invalid_grant counts in
// InvalidGrants.
func OAuthError(status int, code, description string) Failure {
	checkStatus(status)
	return Failure{kind: failOAuth, status: status, code: code, description: description}
}

// ServerError answers status (a 5xx, typically) with a short text/plain
// body that is not JSON.
func ServerError(status int) Failure {
	checkStatus(status)
	return Failure{kind: failServer, status: status}
}

// HTMLError answers status with an HTML error page, like a load balancer or
// proxy in front of the provider would.
func HTMLError(status int) Failure {
	checkStatus(status)
	return Failure{kind: failHTML, status: status}
}

// EmptyBody answers status with no body and no Content-Type.
func EmptyBody(status int) Failure {
	checkStatus(status)
	return Failure{kind: failEmpty, status: status}
}

// TruncatedJSON answers 200 with a token response cut off in the middle (its
// Content-Length matches the truncated body, so the body reads fine but does
// not parse). The tokens in it are not valid.
func TruncatedJSON() Failure {
	return Failure{kind: failTruncated, status: http.StatusOK}
}

// RateLimited answers 429 with a Retry-After header of retryAfter in whole
// seconds (rounded up) and a short text/plain body.
func RateLimited(retryAfter time.Duration) Failure {
	return Failure{kind: failRateLimited, status: http.StatusTooManyRequests, delay: retryAfter}
}

// Slow delays the request by d, or until the client gives up or the server
// is closed, and then processes it normally: unlike the other failures, it
// consumes the code or refresh token even if the client never reads the
// answer, as a real provider does with a request it received.
func Slow(d time.Duration) Failure {
	return Failure{kind: failSlow, delay: d}
}

// Decommissioned answers like the decommissioned legacy host: 404 with
// {"message":DecommissionedMessage}.
func Decommissioned() Failure {
	return Failure{kind: failDecommissioned, status: http.StatusNotFound}
}

// String describes the failure, for test names and messages.
func (f Failure) String() string {
	switch f.kind {
	case failOAuth:
		return fmt.Sprintf("OAuthError(%d, %s)", f.status, f.code)
	case failServer:
		return fmt.Sprintf("ServerError(%d)", f.status)
	case failHTML:
		return fmt.Sprintf("HTMLError(%d)", f.status)
	case failEmpty:
		return fmt.Sprintf("EmptyBody(%d)", f.status)
	case failTruncated:
		return "TruncatedJSON()"
	case failRateLimited:
		return fmt.Sprintf("RateLimited(%s)", f.delay)
	case failSlow:
		return fmt.Sprintf("Slow(%s)", f.delay)
	case failDecommissioned:
		return "Decommissioned()"
	default:
		return "Failure(invalid)"
	}
}

// failureQueue holds the pending injected failures; guarded by Server.mu.
type failureQueue struct {
	next   []Failure
	always *Failure
	revoke *Failure // FailRevocations
}

func mustValid(f Failure) {
	if f.kind == 0 {
		panic("gototest: the zero Failure is not valid; use a Failure constructor")
	}
}

// FailNext makes the next n token requests answer f, after any failures
// already queued by FailNext. n <= 0 queues nothing. Queued failures take
// precedence over FailAlways.
func (s *Server) FailNext(n int, f Failure) {
	mustValid(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range max(n, 0) {
		s.failures.next = append(s.failures.next, f)
	}
}

// FailAlways makes every token request answer f, once the failures queued by
// FailNext are used up, until StopFailing.
func (s *Server) FailAlways(f Failure) {
	mustValid(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.always = &f
}

// StopFailing clears the failures queued by FailNext and cancels FailAlways
// and FailRevocations.
func (s *Server) StopFailing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = failureQueue{}
}

// nextFailure takes the failure the current token request must answer, if
// any.
func (s *Server) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures.next) > 0 {
		f := s.failures.next[0]
		s.failures.next = s.failures.next[1:]
		return f, true
	}
	if s.failures.always != nil {
		return *s.failures.always, true
	}
	return Failure{}, false
}

// writeFailure answers with f (any kind but failSlow).
func (s *Server) writeFailure(w http.ResponseWriter, f Failure) {
	switch f.kind {
	case failOAuth:
		s.writeOAuthError(w, f.status, f.code, f.description)
	case failServer:
		writeBody(w, f.status, "text/plain; charset=utf-8",
			[]byte(strconv.Itoa(f.status)+" "+http.StatusText(f.status)+"\n"))
	case failHTML:
		text := strconv.Itoa(f.status) + " " + http.StatusText(f.status)
		writeBody(w, f.status, "text/html", []byte("<html>\r\n<head><title>"+text+
			"</title></head>\r\n<body>\r\n<center><h1>"+text+"</h1></center>\r\n</body>\r\n</html>\r\n"))
	case failEmpty:
		writeBody(w, f.status, "", nil)
	case failTruncated:
		body, _ := json.Marshal(s.tokenResponse(newAccessToken(), newRefreshToken(), grant{
			clientID: s.ClientID, scope: s.defaultScope, identity: s.identity,
		}))
		writeBody(w, f.status, "application/json", body[:len(body)/2])
	case failRateLimited:
		secs := int64(math.Ceil(f.delay.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 0), 10))
		writeBody(w, f.status, "text/plain; charset=utf-8", []byte("Too Many Requests\n"))
	case failDecommissioned:
		writeJSON(w, f.status, map[string]string{"message": DecommissionedMessage})
	}
}
