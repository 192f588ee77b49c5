package connect_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

const (
	linkKey    = "test-link-signing-key-0123456789"
	returnTo   = "https://app.example.com/integrations/goto?tab=1"
	callbackHT = "https://connector.example.com/callback"
)

// env is one connector, its table, its clock and the GoTo it talks to.
type env struct {
	t     testing.TB
	app   *connect.App
	goto_ *gototest.Server
	db    *dynamodb.Client
	table string
	clock *testutil.Clock
	logs  *testutil.Logs
	seen  []string // codes, states and cookie values that went by
}

func newEnv(t testing.TB, redirectURI string, opts ...gototest.Option) *env {
	t.Helper()
	srv := gototest.NewServer(opts...)
	t.Cleanup(srv.Close)
	db, table := testutil.Table(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"GOTO_CLIENT_ID":         srv.ClientID,
			"GOTO_CLIENT_SECRET":     srv.ClientSecret,
			"GOTO_LINK_SIGNING_KEY":  linkKey,
			"GOTO_AUTHORIZE_URL":     srv.AuthorizeURL(),
			"GOTO_TOKEN_URL":         srv.TokenURL(),
			"GOTO_REDIRECT_URI":      redirectURI,
			"TABLE_NAME":             table,
			"ALLOWED_RETURN_ORIGINS": "https://app.example.com,http://localhost:3000",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secrets.FromValues(srv.ClientSecret, linkKey)
	if err != nil {
		t.Fatal(err)
	}
	clock := testutil.NewClock(time.Now())
	logs := &testutil.Logs{}
	e := &env{t: t, goto_: srv, db: db, table: table, clock: clock, logs: logs, app: &connect.App{
		Config: cfg, Secrets: sec, DB: db, Now: clock.Now, Logger: logs.Logger(),
	}}
	t.Cleanup(func() { e.noSecretsLogged(t) })
	return e
}

// noSecretsLogged checks that no token, code, state, cookie or secret
// stored or seen in the test's flows shows up in the logs.
func (e *env) noSecretsLogged(t testing.TB) {
	logs := e.logs.String()
	secretsSeen := []string{e.goto_.ClientSecret, linkKey}
	for _, item := range testutil.Items(t, e.db, e.table) {
		for _, k := range []string{"access_token", "refresh_token", "code_verifier", "binding_hash", "state_hash"} {
			if v := testutil.S(item, k); v != "" {
				secretsSeen = append(secretsSeen, v)
			}
		}
	}
	secretsSeen = append(secretsSeen, e.seen...)
	for _, s := range secretsSeen {
		if len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("the logs contain a secret value (%d chars)", len(s))
		}
	}
}

func (e *env) link(connectionID, returnTo string) url.Values {
	raw, err := gotoauth.SignLink("https://connector.example.com/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: connectionID, ReturnTo: returnTo, Expires: e.clock.Now().Add(15 * time.Minute)})
	if err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	return u.Query()
}

func (e *env) authorize(q url.Values) connect.Response {
	e.t.Helper()
	req := connect.Request{RawQueryString: q.Encode()}
	resp, err := e.app.Authorize(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	checkHeaders(e.t, resp)
	openapitest.Lambda(e.t, "GET /authorize", req, resp)
	return resp
}

func (e *env) callback(rawQuery string, cookies ...string) connect.Response {
	e.t.Helper()
	if q, err := url.ParseQuery(rawQuery); err == nil {
		e.seen = append(e.seen, q.Get("code"), q.Get("state"))
	}
	for _, c := range cookies {
		_, v, _ := strings.Cut(c, "=")
		e.seen = append(e.seen, v)
	}
	req := connect.Request{RawQueryString: rawQuery, Cookies: cookies}
	resp, err := e.app.Callback(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	checkHeaders(e.t, resp)
	openapitest.Lambda(e.t, "GET /callback", req, resp)
	return resp
}

// start runs authorize for a fresh link and returns GoTo's consent URL and
// the binding cookie ("name=value").
func (e *env) start(connectionID, returnTo string) (consentURL, cookie string) {
	e.t.Helper()
	resp := e.authorize(e.link(connectionID, returnTo))
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Body)
	}
	if len(resp.Cookies) != 1 {
		e.t.Fatalf("authorize set %d cookies", len(resp.Cookies))
	}
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Headers["Location"], c.Name + "=" + c.Value
}

// connect runs the whole flow with Allow and returns the callback's answer.
func (e *env) connect(connectionID, returnTo string) connect.Response {
	e.t.Helper()
	consentURL, cookie := e.start(connectionID, returnTo)
	back, err := e.goto_.Approve(consentURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.callback(back.RawQuery, cookie)
}

func checkHeaders(t testing.TB, r connect.Response) {
	t.Helper()
	if r.Headers["Cache-Control"] != "no-store" || r.Headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("headers %v", r.Headers)
	}
	if r.StatusCode >= 500 && r.StatusCode != http.StatusBadGateway && r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", r.StatusCode)
	}
}

// nothingStored checks that the table holds no item at all: no pending
// state, no connection.
func (e *env) nothingStored() {
	e.t.Helper()
	if items := testutil.Items(e.t, e.db, e.table); len(items) != 0 {
		e.t.Fatalf("%d items stored, want none", len(items))
	}
}

func (e *env) connection(id string) map[string]string {
	e.t.Helper()
	return testutil.ItemStrings(e.t, e.db, e.table, "conn#"+id)
}

func TestConnectFlowWithReturnTo(t *testing.T) {
	e := newEnv(t, callbackHT, gototest.WithStyle(gototest.StyleLegacy))
	consentURL, cookie := e.start("cust-1", returnTo)

	u, _ := url.Parse(consentURL)
	q := u.Query()
	if !strings.HasPrefix(consentURL, e.goto_.AuthorizeURL()+"?") || q.Get("client_id") != e.goto_.ClientID ||
		q.Get("response_type") != "code" || q.Get("redirect_uri") != callbackHT ||
		len(q.Get("state")) < 22 || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Fatalf("consent URL %s", consentURL)
	}
	back, err := e.goto_.Approve(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.callback(back.RawQuery, cookie)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
	}
	loc, _ := url.Parse(resp.Headers["Location"])
	if loc.Host != "app.example.com" || loc.Path != "/integrations/goto" || loc.Query().Get("tab") != "1" ||
		loc.Query().Get("status") != "connected" || loc.Query().Get("connection_id") != "cust-1" {
		t.Fatalf("redirect to %s", loc)
	}
	if len(resp.Cookies) != 1 || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
		t.Fatalf("binding cookie not cleared: %v", resp.Cookies)
	}

	c := e.connection("cust-1")
	id := gototest.DefaultIdentity()
	if c["status"] != "active" || !e.goto_.ValidAccessToken(c["access_token"]) || !e.goto_.ValidRefreshToken(c["refresh_token"]) ||
		c["account_key"] != id.AccountKey || c["organizer_key"] != id.OrganizerKey || c["email"] != id.Email ||
		c["first_name"] != id.FirstName || c["last_name"] != id.LastName || c["connection_id"] != "cust-1" ||
		c["access_token_expires_at"] == "" || c["refresh_token_expires_at"] == "" || c["connected_at"] == "" || c["refreshed_at"] == "" {
		t.Fatalf("stored connection %v", c)
	}
	// The pending state is gone; only the connection remains.
	if n := len(testutil.Items(t, e.db, e.table)); n != 1 {
		t.Fatalf("%d items, want 1", n)
	}
	if e.goto_.ExchangeRequests() != 1 {
		t.Fatalf("%d exchanges", e.goto_.ExchangeRequests())
	}
}

func TestConnectFlowResultPage(t *testing.T) {
	e := newEnv(t, callbackHT) // current style: principal, scope
	resp := e.connect("cust-2", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, gototest.DefaultIdentity().Principal) ||
		!strings.Contains(resp.Headers["Content-Type"], "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	c := e.connection("cust-2")
	if c["principal"] == "" || c["scope"] == "" {
		t.Fatalf("stored %v", c)
	}
	for _, v := range []string{c["access_token"], c["refresh_token"]} {
		if strings.Contains(resp.Body, v) {
			t.Fatal("the page shows a token")
		}
	}
}

func TestBindingCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		redirect string
		secure   bool
		path     string
	}{
		{"https://connector.example.com/prod/callback", true, "/prod/callback"},
		{"http://localhost:8080/callback", false, "/callback"},
	} {
		e := newEnv(t, tc.redirect)
		resp := e.authorize(e.link("c", ""))
		c, err := http.ParseSetCookie(resp.Cookies[0])
		if err != nil {
			t.Fatal(err)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure || c.Path != tc.path ||
			c.MaxAge <= 0 || c.MaxAge > 600 || len(c.Value) < 22 {
			t.Fatalf("%s: cookie %q", tc.redirect, resp.Cookies[0])
		}
	}
}

func TestAuthorizeRefusesBadLinks(t *testing.T) {
	e := newEnv(t, callbackHT)
	good := e.link("cust-1", returnTo)
	cases := []struct {
		name   string
		query  func() url.Values
		status int
	}{
		{"missing signature", func() url.Values { q := e.link("c", returnTo); q.Del("signature"); return q }, 400},
		{"tampered signature", func() url.Values {
			q := e.link("c", returnTo)
			// Swap one character for another base64url character, so the
			// signature stays well formed and only its value is wrong.
			s := []byte(q.Get("signature"))
			if s[3] == 'A' {
				s[3] = 'B'
			} else {
				s[3] = 'A'
			}
			q.Set("signature", string(s))
			return q
		}, 403},
		{"tampered connection id", func() url.Values { q := e.link("c", returnTo); q.Set("connection_id", "d"); return q }, 403},
		{"expired", func() url.Values {
			raw, _ := gotoauth.SignLink("https://x/authorize", []byte(linkKey), gotoauth.Link{ConnectionID: "c", Expires: e.clock.Now().Add(-time.Second)})
			u, _ := url.Parse(raw)
			return u.Query()
		}, 403},
		{"foreign return_to", func() url.Values { return e.link("c", "https://evil.example.net/steal") }, 400},
		{"http return_to", func() url.Values { return e.link("c", "http://app.example.com/") }, 400},
		{"bad connection id", func() url.Values { q := url.Values{}; q.Set("connection_id", "a b"); return q }, 400},
		{"empty", func() url.Values { return url.Values{} }, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.authorize(tc.query())
			if resp.StatusCode != tc.status || len(resp.Cookies) != 0 || !strings.Contains(resp.Body, "<h1") {
				t.Fatalf("%d (want %d), cookies %v: %s", resp.StatusCode, tc.status, resp.Cookies, resp.Body)
			}
			e.nothingStored()
		})
	}
	if resp := e.authorize(good); resp.StatusCode != http.StatusFound {
		t.Fatalf("the good link: %d", resp.StatusCode)
	}
}

func TestCallbackRefusals(t *testing.T) {
	t.Run("replay", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		consentURL, cookie := e.start("cust-1", returnTo)
		back, _ := e.goto_.Approve(consentURL)
		if r := e.callback(back.RawQuery, cookie); r.StatusCode != http.StatusFound {
			t.Fatalf("first: %d", r.StatusCode)
		}
		before := e.connection("cust-1")
		r := e.callback(back.RawQuery, cookie)
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("replay: %d %s", r.StatusCode, r.Body)
		}
		if e.goto_.ExchangeRequests() != 1 {
			t.Fatalf("the code was exchanged %d times", e.goto_.ExchangeRequests())
		}
		if after := e.connection("cust-1"); after["version"] != before["version"] || after["access_token"] != before["access_token"] {
			t.Fatal("the replay changed the connection")
		}
	})
	t.Run("no cookie, then the right browser", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		consentURL, cookie := e.start("cust-1", returnTo)
		back, _ := e.goto_.Approve(consentURL)
		r := e.callback(back.RawQuery)
		if r.StatusCode != http.StatusBadRequest || e.connection("cust-1") != nil || e.goto_.ExchangeRequests() != 0 {
			t.Fatalf("without cookie: %d, exchanges %d", r.StatusCode, e.goto_.ExchangeRequests())
		}
		// The state was not consumed: the browser that owns it can finish.
		if r := e.callback(back.RawQuery, cookie); r.StatusCode != http.StatusFound {
			t.Fatalf("with cookie: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("another browser's cookie", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		consentURL, cookie := e.start("cust-1", returnTo)
		back, _ := e.goto_.Approve(consentURL)
		name, _, _ := strings.Cut(cookie, "=")
		r := e.callback(back.RawQuery, name+"=forged-value")
		if r.StatusCode != http.StatusForbidden || e.connection("cust-1") != nil || e.goto_.ExchangeRequests() != 0 {
			t.Fatalf("forged cookie: %d", r.StatusCode)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		state := oauth.GenerateState()
		sum := sha256.Sum256([]byte(state))
		cookie := "goto_connect_" + hex.EncodeToString(sum[:8]) + "=some-binding-value"
		r := e.callback(url.Values{"code": {"x"}, "state": {state}}.Encode(), cookie)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "already been used or is unknown") {
			t.Fatalf("unknown state: %d %s", r.StatusCode, r.Body)
		}
		if e.goto_.TokenRequests() != 0 {
			t.Fatal("something was exchanged")
		}
		e.nothingStored()
	})
	t.Run("expired state", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		consentURL, cookie := e.start("cust-1", returnTo)
		back, _ := e.goto_.Approve(consentURL)
		e.clock.Advance(connect.PendingLifetime + time.Second)
		r := e.callback(back.RawQuery, cookie)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "10 minutes") {
			t.Fatalf("expired: %d %s", r.StatusCode, r.Body)
		}
		if e.goto_.ExchangeRequests() != 0 || e.connection("cust-1") != nil {
			t.Fatal("an expired state was exchanged")
		}
	})
	t.Run("missing state", func(t *testing.T) {
		e := newEnv(t, callbackHT)
		if r := e.callback("code=abc"); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("%d", r.StatusCode)
		}
		e.nothingStored()
	})
}

func TestCallbackAccessDenied(t *testing.T) {
	e := newEnv(t, callbackHT)
	consentURL, cookie := e.start("cust-1", returnTo)
	back, err := e.goto_.Deny(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	r := e.callback(back.RawQuery, cookie)
	loc, _ := url.Parse(r.Headers["Location"])
	if r.StatusCode != http.StatusFound || loc.Query().Get("status") != "error" || loc.Query().Get("error") != "access_denied" ||
		loc.Query().Get("connection_id") != "cust-1" {
		t.Fatalf("%d %s", r.StatusCode, loc)
	}
	e.nothingStored()
	if e.goto_.TokenRequests() != 0 {
		t.Fatal("a token request was made")
	}
}

func TestCallbackProviderErrorCodeIsSanitised(t *testing.T) {
	e := newEnv(t, callbackHT)
	consentURL, cookie := e.start("cust-1", returnTo)
	u, _ := url.Parse(consentURL)
	state := u.Query().Get("state")
	r := e.callback(url.Values{"state": {state}, "error": {"<script>alert(1)</script>"}}.Encode(), cookie)
	loc, _ := url.Parse(r.Headers["Location"])
	if loc.Query().Get("error") != "unknown" {
		t.Fatalf("error echoed as %q", loc.Query().Get("error"))
	}
	e.nothingStored()
}

func TestCallbackExchangeFailureIsNotRetried(t *testing.T) {
	for _, f := range []gototest.Failure{gototest.ServerError(502), gototest.OAuthError(400, "invalid_grant", "bad code"), gototest.HTMLError(200)} {
		t.Run(f.String(), func(t *testing.T) {
			e := newEnv(t, callbackHT)
			consentURL, cookie := e.start("cust-1", returnTo)
			back, _ := e.goto_.Approve(consentURL)
			e.goto_.FailNext(1, f)
			r := e.callback(back.RawQuery, cookie)
			loc, _ := url.Parse(r.Headers["Location"])
			if r.StatusCode != http.StatusFound || loc.Query().Get("status") != "error" || loc.Query().Get("error") == "" {
				t.Fatalf("%d %s", r.StatusCode, loc)
			}
			if e.goto_.ExchangeRequests() != 1 {
				t.Fatalf("%d exchange requests, want exactly 1", e.goto_.ExchangeRequests())
			}
			e.nothingStored()
		})
	}
}

func TestReconnectReplacesTokensCleanly(t *testing.T) {
	var db *dynamodb.Client
	var table string
	run := func(style gototest.Style) map[string]string {
		e := newEnv(t, callbackHT, gototest.WithStyle(style))
		if db == nil {
			db, table = e.db, e.table
		}
		e.db, e.table, e.app.DB = db, table, db
		e.app.Config.TableName = table
		if r := e.connect("cust-1", returnTo); r.StatusCode != http.StatusFound {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		return e.connection("cust-1")
	}
	first := run(gototest.StyleLegacy)
	second := run(gototest.StyleCurrent)
	if first["account_key"] == "" || second["account_key"] != "" || second["email"] != "" || second["principal"] == "" {
		t.Fatalf("identity not replaced: first %v, second %v", first, second)
	}
	if second["access_token"] == first["access_token"] || second["refresh_token"] == first["refresh_token"] ||
		second["version"] != "2" || second["status"] != "active" {
		t.Fatalf("tokens not replaced: %v", second)
	}
}

// No input makes either handler answer 5xx.
func TestGarbageNeverFails(t *testing.T) {
	e := newEnv(t, callbackHT)
	for _, q := range []string{"", "%", "%zz", "a=b&&&", "state=", "state=x&state=y", "code=&state=%00",
		"connection_id=" + strings.Repeat("a", 5000), "expires=-1&connection_id=a&signature=a", "error=access_denied"} {
		for name, h := range map[string]func(context.Context, connect.Request) (connect.Response, error){
			"authorize": e.app.Authorize, "callback": e.app.Callback,
		} {
			r, err := h(context.Background(), connect.Request{RawQueryString: q, Cookies: []string{"a=b", "garbage;;="}})
			if err != nil || r.StatusCode >= 500 || r.StatusCode < 400 {
				t.Errorf("%s %q: %d %v", name, q, r.StatusCode, err)
			}
		}
	}
	e.nothingStored()
}
