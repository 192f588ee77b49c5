package gotoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
)

// Timeouts of a token request, in two phases: getting the request to GoTo
// (connecting, TLS, writing it) and waiting for GoTo's answer once it was
// sent. The first is short: nothing has happened at GoTo yet. The second is
// long, because a refresh GoTo has received may rotate the refresh token,
// and an answer given up on is a rotation lost.
const (
	defaultConnectTimeout = 5 * time.Second
	defaultAnswerTimeout  = 60 * time.Second
)

// maxTokenResponse caps how much of a token answer is read. GoTo's tokens
// are large (several KB), so the cap is generous.
const maxTokenResponse = 1 << 20

// Client talks to GoTo's authorization server for one OAuth client.
// It is safe for concurrent use.
type Client struct {
	// ClientID and ClientSecret identify the OAuth client registered at GoTo.
	ClientID     string
	ClientSecret string
	// RedirectURL is the redirect URI registered on the OAuth client: the
	// connector's public /callback URL. It is sent byte-identical in the
	// authorization request and the code exchange.
	RedirectURL string
	// Endpoint is GoTo's authorization server; zero means GoTo's current
	// one, authentication.logmeininc.com (gototest.Server gives its own).
	Endpoint Endpoint
	// Scopes, when set, are requested in the authorization URL. GoTo grants
	// only the scopes set on the OAuth client either way.
	Scopes []string
	// HTTPClient's Transport sends the token requests; nil means
	// http.DefaultTransport. Redirects are never followed, and the timeouts
	// below bound each request (HTTPClient.Timeout is not used).
	HTTPClient *http.Client
	// ConnectTimeout bounds getting a token request to GoTo (dial, TLS,
	// writing the request); zero means 5 seconds.
	ConnectTimeout time.Duration
	// AnswerTimeout bounds waiting for GoTo's answer once the request was
	// sent, body included; zero means 60 seconds.
	AnswerTimeout time.Duration
	// Now returns the current time, for token expiries; nil means time.Now.
	Now func() time.Time
}

// AuthCodeURL returns the URL of GoTo's consent page for state.
func (c *Client) AuthCodeURL(state string, opts ...oauth.AuthCodeOption) string {
	v := url.Values{
		"client_id":     {c.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {c.RedirectURL},
	}
	if state != "" {
		v.Set("state", state)
	}
	if len(c.Scopes) > 0 {
		v.Set("scope", strings.Join(c.Scopes, " "))
	}
	for _, o := range opts {
		o(v)
	}
	authURL := c.endpoint().AuthURL
	sep := "?"
	if strings.Contains(authURL, "?") {
		sep = "&"
	}
	return authURL + sep + v.Encode()
}

// Exchange trades an authorization code for a token. verifier is the PKCE
// code verifier, or "" when no challenge was sent.
//
// The request is sent exactly once: a code works only once, so an exchange
// that failed after it may have reached GoTo must not be repeated.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {c.RedirectURL},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return c.tokenRequest(ctx, form)
}

// Refresh trades a refresh token for a new token. When the answer carries no
// refresh token, the old one stays valid: keep it.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	return c.tokenRequest(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
}

func (c *Client) endpoint() Endpoint {
	if c.Endpoint == (Endpoint{}) {
		return Endpoint{AuthURL: oauth.GoToAuthURL, TokenURL: oauth.GoToTokenURL, RevokeURL: oauth.GoToRevokeURL}
	}
	return c.Endpoint
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// tokenRequest posts form to the token endpoint and turns the answer into a
// Token or one of this package's typed errors.
func (c *Client) tokenRequest(ctx context.Context, form url.Values) (*Token, error) {
	if c == nil || c.ClientID == "" {
		return nil, fmt.Errorf("%w: Client.ClientID is empty", ErrNotConfigured)
	}
	ctx, resp, done, err := c.postForm(ctx, c.endpoint().TokenURL, "token", form)
	if err != nil {
		return nil, err
	}
	defer done()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		if ctx.Err() != nil {
			return nil, &oauth.TimeoutError{Sent: true, Err: errors.New("answer cut off by the answer timeout")}
		}
		return nil, &oauth.UnreadableResponseError{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Reason: "body cut off: " + redactURL(err).Error()}
	}
	return c.parseAnswer(resp, body)
}

// postForm posts form to target (the endpoint called name in errors) with
// the client's raw Basic credentials, under the connect and answer timeouts
// (phaseTimeouts), never following a redirect. The caller reads the answer
// under the returned context and then calls done, which closes the body and
// stops the timers. A transport failure is transportError's.
func (c *Client) postForm(ctx context.Context, target, name string, form url.Values) (context.Context, *http.Response, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	sent := c.phaseTimeouts(ctx, cancel)
	stop := func() { sent.stop(); cancel(nil) }

	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, sent.trace()), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("%w: %s URL: %v", ErrNotConfigured, name, redactURL(err))
	}
	req.Header.Set("Authorization", oauth.BasicAuth(c.ClientID, c.ClientSecret))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	resp, err := c.noRedirects().Do(req)
	if err != nil {
		err = transportError(ctx, err, sent.wasSent())
		stop()
		return nil, nil, nil, err
	}
	return ctx, resp, func() { resp.Body.Close(); stop() }, nil
}

// noRedirects is the HTTP client of a token or revocation request. It never
// follows a redirect: that would send the code or refresh token a second
// time, to wherever the redirect points.
func (c *Client) noRedirects() *http.Client {
	hc := &http.Client{Transport: http.DefaultTransport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if c.HTTPClient != nil {
		if c.HTTPClient.Transport != nil {
			hc.Transport = c.HTTPClient.Transport
		}
		hc.Jar = c.HTTPClient.Jar
	}
	return hc
}

// phases runs a token request's two timeouts: the connect timer until the
// request is written, then the answer timer.
type phases struct {
	mu            sync.Mutex
	connect       *time.Timer
	answer        *time.Timer
	answerTimeout time.Duration
	cancel        context.CancelCauseFunc
	sent          bool
	stopped       bool
}

var (
	errConnectTimeout = errors.New("the request did not reach GoTo within the connect timeout")
	errAnswerTimeout  = errors.New("GoTo did not answer within the answer timeout")
)

func (c *Client) phaseTimeouts(ctx context.Context, cancel context.CancelCauseFunc) *phases {
	connect, answer := c.timeouts()
	p := &phases{answerTimeout: answer, cancel: cancel}
	p.connect = time.AfterFunc(connect, func() { cancel(errConnectTimeout) })
	return p
}

func (p *phases) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err != nil {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.sent || p.stopped || !p.connect.Stop() {
			return
		}
		p.sent = true
		p.answer = time.AfterFunc(p.answerTimeout, func() { p.cancel(errAnswerTimeout) })
	}}
}

func (p *phases) wasSent() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func (p *phases) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.connect.Stop()
	if p.answer != nil {
		p.answer.Stop()
	}
}

// parseAnswer maps a token endpoint answer to a Token or a typed error.
func (c *Client) parseAnswer(resp *http.Response, body []byte) (*Token, error) {
	status, ctype := resp.StatusCode, resp.Header.Get("Content-Type")
	unreadable := func(reason string) error {
		return &oauth.UnreadableResponseError{StatusCode: status, ContentType: ctype, Reason: reason}
	}

	if status == http.StatusTooManyRequests {
		return nil, &oauth.RateLimitError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now())}
	}

	// Error bodies: an OAuth error code, or a bare message.
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	jsonErr := json.Unmarshal(body, &e)
	if status != http.StatusOK || (jsonErr == nil && e.Error != nil) {
		if code, ok := e.Error.(string); jsonErr == nil && ok && code != "" {
			if status >= 500 && !isOAuthServerCode(code) {
				return nil, &oauth.ServerError{StatusCode: status}
			}
			return nil, &oauth.OAuthError{StatusCode: status, Code: code, Description: e.Description}
		}
		if status >= 500 {
			return nil, &oauth.ServerError{StatusCode: status}
		}
		if jsonErr == nil && e.Message != "" {
			return nil, &oauth.EndpointGoneError{StatusCode: status, Message: truncate(e.Message, 200)}
		}
		return nil, unreadable(describeBody(body, ctype))
	}

	if len(body) == 0 {
		return nil, unreadable("empty body")
	}
	if mt, _, _ := mime.ParseMediaType(ctype); mt == "text/html" {
		return nil, unreadable("HTML instead of JSON")
	}
	tok, err := parseToken(body, c.now())
	if err != nil {
		return nil, unreadable(describeBody(body, ctype) + ": " + err.Error())
	}
	return tok, nil
}

// isOAuthServerCode reports whether a 5xx carries an OAuth code of its own
// that says more than the status does.
func isOAuthServerCode(code string) bool {
	return code == "temporarily_unavailable" || code == "server_error"
}

// describeBody says what is wrong with a body without quoting it: bodies
// may echo secrets.
func describeBody(body []byte, ctype string) string {
	trimmed := strings.TrimSpace(string(body))
	mt, _, _ := mime.ParseMediaType(ctype)
	switch {
	case len(trimmed) == 0:
		return "empty body"
	case mt == "text/html" || strings.HasPrefix(strings.ToLower(trimmed), "<!doctype") || strings.HasPrefix(trimmed, "<"):
		return "HTML instead of JSON"
	case !json.Valid(body):
		return "malformed or truncated JSON (" + strconv.Itoa(len(body)) + " bytes)"
	default:
		return "JSON without the expected fields"
	}
}

// transportError maps an error from http.Client.Do, stripping the request
// URL (never secret here, but kept out on principle). sent tells whether the
// whole request had reached GoTo.
func transportError(ctx context.Context, err error, sent bool) error {
	var ne net.Error
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errConnectTimeout), errors.Is(cause, errAnswerTimeout):
		return &oauth.TimeoutError{Sent: sent, Err: cause}
	case ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &oauth.TimeoutError{Sent: sent, Err: redactURL(err)}
	case errors.Is(err, context.Canceled):
		return err
	}
	return &oauth.NetworkError{Err: redactURL(err)}
}

// redactURL returns the inner error of a *url.Error, so that no URL ends up
// in messages.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
