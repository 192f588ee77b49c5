package gotoauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

const redirectURI = "https://connector.example.com/callback"

func newClient(srv *gototest.Server) *gotoauth.Client {
	return &gotoauth.Client{
		ClientID:      srv.ClientID,
		ClientSecret:  srv.ClientSecret,
		RedirectURL:   redirectURI,
		Endpoint:      gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()},
		AnswerTimeout: 2 * time.Second,
	}
}

// consent runs the browser's part: GoTo's consent page, Allow.
func consent(t testing.TB, srv *gototest.Server, c *gotoauth.Client, verifier string) string {
	t.Helper()
	var opts []oauth.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth.S256ChallengeOption(verifier))
	}
	back, err := srv.Approve(c.AuthCodeURL("state-1", opts...))
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != "state-1" {
		t.Fatalf("state not echoed: %s", back)
	}
	return back.Query().Get("code")
}

func TestBasicAuthIsRawBase64(t *testing.T) {
	const id, secret = "a2094c4f-fAk0e-4339", "3naO10IA2agcvG+9I9TGEQ==/x"
	got := oauth.BasicAuth(id, secret)
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret)); got != want {
		t.Fatalf("BasicAuth = %q, want %q", got, want)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, "Basic "))
	if string(raw) != id+":"+secret {
		t.Fatalf("decodes to %q", raw)
	}
	// What RFC 6749 §2.3.1 clients such as golang.org/x/oauth2 send instead.
	formEncoded := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	if got == formEncoded {
		t.Fatal("the header is form-encoded")
	}

	// And GoTo (gototest) accepts ours and refuses the form-encoded one.
	srv := gototest.NewServer(gototest.WithClient(id, secret))
	defer srv.Close()
	c := newClient(srv)
	tok, err := c.Exchange(context.Background(), consent(t, srv, c, ""), "")
	if err != nil {
		t.Fatalf("exchange with raw Basic credentials: %v", err)
	}
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader("grant_type=refresh_token&refresh_token="+url.QueryEscape(tok.RefreshToken)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", formEncoded)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("form-encoded credentials got %d, want 401", resp.StatusCode)
	}
}

func TestExchangeAndRefreshBothStyles(t *testing.T) {
	for _, style := range []gototest.Style{gototest.StyleLegacy, gototest.StyleCurrent} {
		t.Run(style.String(), func(t *testing.T) {
			srv := gototest.NewServer(gototest.WithStyle(style))
			defer srv.Close()
			c := newClient(srv)
			verifier := oauth.GenerateVerifier()
			before := time.Now()
			tok, err := c.Exchange(context.Background(), consent(t, srv, c, verifier), verifier)
			if err != nil {
				t.Fatal(err)
			}
			if !srv.ValidAccessToken(tok.AccessToken) || !srv.ValidRefreshToken(tok.RefreshToken) {
				t.Fatal("tokens not valid at the provider")
			}
			if d := tok.Expiry.Sub(before); d < 3590*time.Second || d > 3610*time.Second {
				t.Fatalf("expiry in %s, want about 3600s", d)
			}
			id := gototest.DefaultIdentity()
			if style == gototest.StyleLegacy {
				if tok.AccountKey != id.AccountKey || tok.OrganizerKey != id.OrganizerKey || tok.Email != id.Email ||
					tok.FirstName != id.FirstName || tok.LastName != id.LastName || tok.Version == "" {
					t.Fatalf("legacy identity fields: %+v", tok)
				}
			} else if tok.Principal == "" || tok.Scope == "" || tok.AccountKey != "" {
				t.Fatalf("current fields: principal=%q scope=%q account_key=%q", tok.Principal, tok.Scope, tok.AccountKey)
			}
			if tok.Raw["access_token"] == nil {
				t.Fatal("Raw lacks access_token")
			}
			if strings.Contains(tok.String(), tok.AccessToken) || strings.Contains(tok.String(), tok.RefreshToken) {
				t.Fatal("Token.String prints a token")
			}

			next, err := c.Refresh(context.Background(), tok.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if next.AccessToken == tok.AccessToken || !srv.ValidAccessToken(next.AccessToken) {
				t.Fatal("refresh gave no new valid access token")
			}
		})
	}
}

func TestExchangeCodeWorksOnce(t *testing.T) {
	srv := gototest.NewServer()
	defer srv.Close()
	c := newClient(srv)
	code := consent(t, srv, c, "")
	if _, err := c.Exchange(context.Background(), code, ""); err != nil {
		t.Fatal(err)
	}
	_, err := c.Exchange(context.Background(), code, "")
	var oe *oauth.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || gotoauth.Classify(err) != gotoauth.Permanent {
		t.Fatalf("second exchange: %v", err)
	}
}

func TestExpiresInAsString(t *testing.T) {
	srv := gototest.NewServer(gototest.WithExpiresInAsString())
	defer srv.Close()
	c := newClient(srv)
	tok, err := c.Exchange(context.Background(), consent(t, srv, c, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(tok.Expiry) < 3500*time.Second {
		t.Fatalf("expiry %s", tok.Expiry)
	}
}

func TestLegacyEndpoint(t *testing.T) {
	srv := gototest.NewServer(gototest.WithStyle(gototest.StyleLegacy))
	defer srv.Close()
	c := newClient(srv)
	c.Endpoint = gotoauth.Endpoint{AuthURL: srv.LegacyAuthorizeURL(), TokenURL: srv.LegacyTokenURL()}
	if !strings.Contains(c.AuthCodeURL("s"), "/oauth/v2/authorize?") {
		t.Fatalf("AuthCodeURL = %s", c.AuthCodeURL("s"))
	}
	if _, err := c.Exchange(context.Background(), consent(t, srv, c, ""), ""); err != nil {
		t.Fatal(err)
	}
	def := &gotoauth.Client{ClientID: "x", RedirectURL: redirectURI}
	if !strings.HasPrefix(def.AuthCodeURL("s"), "https://authentication.logmeininc.com/oauth/authorize?") {
		t.Fatalf("default endpoint: %s", def.AuthCodeURL("s"))
	}
}

// Every failure GoTo may answer with maps to a typed error, a class and a
// code, and none of them quotes the refresh token.
func TestRefreshFailures(t *testing.T) {
	cases := []struct {
		name    string
		failure gototest.Failure
		class   gotoauth.Class
		code    string
		check   func(error) bool
	}{
		{"invalid_grant", gototest.OAuthError(400, "invalid_grant", "expired"), gotoauth.Permanent, "invalid_grant", isType[*oauth.OAuthError]},
		{"invalid_client", gototest.OAuthError(401, "invalid_client", "Client authentication failed."), gotoauth.Configuration, "invalid_client", isType[*oauth.OAuthError]},
		{"decommissioned", gototest.Decommissioned(), gotoauth.Configuration, "endpoint_gone", isType[*oauth.EndpointGoneError]},
		{"500", gototest.ServerError(500), gotoauth.Transient, "server_error", isType[*oauth.ServerError]},
		{"503 html", gototest.HTMLError(503), gotoauth.Transient, "server_error", isType[*oauth.ServerError]},
		{"200 html", gototest.HTMLError(200), gotoauth.Transient, "unreadable_response", isType[*oauth.UnreadableResponseError]},
		{"400 html", gototest.HTMLError(400), gotoauth.Transient, "unreadable_response", isType[*oauth.UnreadableResponseError]},
		{"empty", gototest.EmptyBody(200), gotoauth.Transient, "unreadable_response", isType[*oauth.UnreadableResponseError]},
		{"truncated", gototest.TruncatedJSON(), gotoauth.Transient, "unreadable_response", isType[*oauth.UnreadableResponseError]},
		{"429", gototest.RateLimited(7 * time.Second), gotoauth.Transient, "rate_limited", func(err error) bool {
			var rl *oauth.RateLimitError
			return errors.As(err, &rl) && rl.RetryAfter == 7*time.Second
		}},
		{"timeout", gototest.Slow(3 * time.Second), gotoauth.Transient, "timeout", isType[*oauth.TimeoutError]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := gototest.NewServer()
			defer srv.Close()
			c := newClient(srv)
			c.AnswerTimeout = 300 * time.Millisecond
			tok, err := c.Exchange(context.Background(), consent(t, srv, c, ""), "")
			if err != nil {
				t.Fatal(err)
			}
			srv.FailNext(1, tc.failure)
			_, err = c.Refresh(context.Background(), tok.RefreshToken)
			if err == nil {
				t.Fatal("no error")
			}
			if !tc.check(err) {
				t.Fatalf("error type %T: %v", err, err)
			}
			if got := gotoauth.Classify(err); got != tc.class {
				t.Fatalf("class %s, want %s (%v)", got, tc.class, err)
			}
			if got := gotoauth.ErrorCode(err); got != tc.code {
				t.Fatalf("code %s, want %s", got, tc.code)
			}
			if strings.Contains(err.Error(), tok.RefreshToken) || strings.Contains(err.Error(), srv.ClientSecret) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := gototest.NewServer()
	c := newClient(srv)
	srv.Close()
	_, err := c.Refresh(context.Background(), "rt")
	if !isType[*oauth.NetworkError](err) || gotoauth.Classify(err) != gotoauth.Transient || gotoauth.ErrorCode(err) != "unreachable" {
		t.Fatalf("%T %v", err, err)
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// Some servers quote the refused token in error_description: it must not
// reach Error() (which ends up in logs).
func TestErrorsNeverQuoteTheProvidersDescription(t *testing.T) {
	srv := gototest.NewServer()
	defer srv.Close()
	c := newClient(srv)
	tok, err := c.Exchange(context.Background(), consent(t, srv, c, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, gototest.OAuthError(400, "invalid_grant", "Invalid refresh token: "+tok.RefreshToken))
	_, err = c.Refresh(context.Background(), tok.RefreshToken)
	var oe *oauth.OAuthError
	if !errors.As(err, &oe) || !strings.Contains(oe.Description, tok.RefreshToken) {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), tok.RefreshToken) {
		t.Fatal("Error() quotes the refresh token")
	}
}

// A token request is never sent twice, not even to follow a redirect.
func TestTokenRequestsDoNotFollowRedirects(t *testing.T) {
	srv := gototest.NewServer()
	defer srv.Close()
	redirector := httptest.NewServer(http.RedirectHandler(srv.TokenURL(), http.StatusTemporaryRedirect))
	defer redirector.Close()
	c := newClient(srv)
	c.Endpoint.TokenURL = redirector.URL
	_, err := c.Refresh(context.Background(), "rt_whatever")
	if err == nil || gotoauth.Classify(err) != gotoauth.Transient || srv.TokenRequests() != 0 {
		t.Fatalf("err %v, %d requests reached GoTo", err, srv.TokenRequests())
	}
}
