package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// refreshInterval is REFRESH_INTERVAL for the test: short, so that the
// scheduled sweep finds the connection due within the test, and long
// enough that a sweep right after a refresh finds nothing due even when
// the invocation takes a few seconds on a loaded machine.
const refreshInterval = 6 * time.Second

// TestLambdaLifecycle drives one connection's whole life through the real
// bootstraps: a signed link, authorize, GoTo's consent, the callback (and
// the callbacks that must be refused), a forced refresh and scheduled
// sweeps.
func TestLambdaLifecycle(t *testing.T) {
	t.Parallel()
	s := startStack(t, map[string]string{"REFRESH_INTERVAL": refreshInterval.String()})
	const id = "e2e-customer-1"

	// The SaaS mints a connect link; the browser follows it.
	link, err := gotoauth.SignLink("https://"+apiDomain+"/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: time.Now().Add(15 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	resp := s.http("AuthorizeFunction", httpEvent("GET /authorize", u.RawQuery))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Body)
	}
	consentURL := resp.Headers["Location"]
	if !strings.HasPrefix(consentURL, s.goTo.AuthorizeURL()+"?") {
		t.Fatalf("authorize redirected to %s, want GoTo's authorize URL %s", consentURL, s.goTo.AuthorizeURL())
	}
	cu, _ := url.Parse(consentURL)
	q := cu.Query()
	state := q.Get("state")
	if q.Get("client_id") != s.goTo.ClientID || q.Get("response_type") != "code" || q.Get("redirect_uri") != redirectURI ||
		len(state) < 22 || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Fatalf("consent URL %s", consentURL)
	}
	if len(resp.Cookies) != 1 {
		t.Fatalf("authorize set cookies %q, want one binding cookie", resp.Cookies)
	}
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != bindingCookieName(state) || len(c.Value) < 22 || !c.HttpOnly || !c.Secure ||
		c.SameSite != http.SameSiteLaxMode || c.Path != "/callback" || c.MaxAge <= 0 || c.MaxAge > 600 {
		t.Fatalf("binding cookie %q", resp.Cookies[0])
	}
	cookie := c.Name + "=" + c.Value

	// The customer allows access at GoTo, which sends the browser back.
	back, err := s.goTo.Approve(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != state || back.Query().Get("code") == "" {
		t.Fatalf("GoTo redirected to %s", back)
	}

	// A callback without the binding cookie (another browser, a link
	// forwarded by an attacker) is refused, and nothing is exchanged.
	r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery))
	if r.StatusCode != http.StatusBadRequest || s.goTo.TokenRequests() != 0 || s.connection(id) != nil {
		t.Fatalf("callback without the cookie: %d (want 400), %d token requests, connection %v",
			r.StatusCode, s.goTo.TokenRequests(), s.connection(id))
	}
	// So is one with a forged cookie value.
	r = s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"=forged-binding-value-0123456789"))
	if r.StatusCode != http.StatusForbidden || s.goTo.TokenRequests() != 0 || s.connection(id) != nil {
		t.Fatalf("callback with a forged cookie: %d (want 403), %d token requests", r.StatusCode, s.goTo.TokenRequests())
	}

	// The browser that started the flow finishes it.
	callback := httpEvent("GET /callback", back.RawQuery, "theme=dark", cookie)
	r = s.http("CallbackFunction", callback)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", r.StatusCode, r.Body)
	}
	loc, err := url.Parse(r.Headers["Location"])
	if err != nil || loc.Scheme != "https" || loc.Host != "app.example.com" || loc.Path != "/settings/integrations" ||
		loc.Query().Get("tab") != "goto" || loc.Query().Get("status") != "connected" || loc.Query().Get("connection_id") != id {
		t.Fatalf("callback redirected to %s, want %s with status=connected&connection_id=%s", r.Headers["Location"], returnTo, id)
	}
	if len(r.Cookies) != 1 || !strings.HasPrefix(r.Cookies[0], c.Name+"=;") || !strings.Contains(r.Cookies[0], "Max-Age=0") {
		t.Errorf("the binding cookie is not cleared: %q", r.Cookies)
	}
	if n := s.goTo.ExchangeRequests(); n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}

	// The stored connection: active, tokens valid at GoTo, encrypted at
	// rest with the key from the secret, GoTo's identity fields.
	conn := s.connection(id)
	if conn == nil {
		t.Fatal("no connection stored")
	}
	access, refresh := s.tokens(conn)
	if !s.goTo.ValidAccessToken(access) || !s.goTo.ValidRefreshToken(refresh) {
		t.Fatal("the stored tokens are not valid at GoTo")
	}
	ident := gototest.DefaultIdentity()
	for k, want := range map[string]string{
		"connection_id": id, "status": "active", "account_key": ident.AccountKey, "organizer_key": ident.OrganizerKey,
		"email": ident.Email, "first_name": ident.FirstName, "last_name": ident.LastName,
	} {
		if conn[k] != want {
			t.Errorf("stored %s = %q, want %q", k, conn[k], want)
		}
	}
	for _, k := range []string{"access_token_expires_at", "refresh_token_expires_at", "connected_at", "refreshed_at"} {
		if conn[k] == "" {
			t.Errorf("stored connection has no %s", k)
		}
	}

	// The SaaS backend gets the access token over the Connections API.
	if tok := s.token(id, ""); tok["access_token"] != access {
		t.Fatalf("the token route answered %v, want the stored access token", tok)
	}

	// A replayed callback (the same code, state and cookie) is refused,
	// and changes nothing.
	r = s.http("CallbackFunction", callback)
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d (want 400) %s", r.StatusCode, r.Body)
	}
	if n := s.goTo.ExchangeRequests(); n != 1 {
		t.Fatalf("the replay exchanged the code again (%d exchanges)", n)
	}
	if after := s.connection(id); after["version"] != conn["version"] || after["access_token"] != conn["access_token"] {
		t.Fatal("the replay changed the stored connection")
	}

	// An operator forces a refresh.
	sum := s.refresh(map[string]any{"connection_ids": []string{id}, "force": true})
	if sum.Due != 1 || sum.Refreshed != 1 || sum.Failed != 0 || sum.ReauthRequired != 0 || sum.Skipped != 0 {
		t.Fatalf("forced refresh: %+v", sum)
	}
	conn2 := s.connection(id)
	access2, _ := s.tokens(conn2)
	if access2 == access || !s.goTo.ValidAccessToken(access2) || conn2["status"] != "active" {
		t.Fatalf("after the forced refresh: new access token %v, valid %v, status %s",
			access2 != access, s.goTo.ValidAccessToken(access2), conn2["status"])
	}
	if n := s.goTo.RefreshRequests(); n != 1 {
		t.Fatalf("%d refresh requests at GoTo, want 1", n)
	}

	// The schedule: nothing is due right after a refresh...
	next, err := strconv.ParseInt(conn2["next_refresh_at"], 10, 64)
	if err != nil {
		t.Fatalf("next_refresh_at %q: %v", conn2["next_refresh_at"], err)
	}
	if time.Now().Unix() < next-3 { // else the machine is too slow to tell
		sum = s.refresh(scheduledEvent())
		if sum.Due != 0 || sum.Refreshed != 0 || sum.Failed != 0 {
			t.Fatalf("sweep before anything is due: %+v", sum)
		}
	}
	// ...and the sweep refreshes the connection once REFRESH_INTERVAL has
	// passed.
	time.Sleep(time.Until(time.Unix(next+1, 0)))
	sum = s.refresh(scheduledEvent())
	if sum.Due != 1 || sum.Refreshed != 1 || sum.Failed != 0 || sum.ReauthRequired != 0 {
		t.Fatalf("scheduled sweep: %+v", sum)
	}
	access3, _ := s.tokens(s.connection(id))
	if access3 == access2 || !s.goTo.ValidAccessToken(access3) {
		t.Fatal("the sweep did not store a new valid access token")
	}

	// Every function read the secret through the Secrets Manager API.
	if n := s.secrets.Calls(); n < len(functions) {
		t.Fatalf("%d GetSecretValue calls, want at least one per function (%d)", n, len(functions))
	}
	s.handlerLinesCarryRequestIDs()
}

// handlerLinesCarryRequestIDs checks that every log line of the connect
// handlers (those with a route) carries Lambda's request id, as the
// bootstraps log it under the emulator.
func (s *stack) handlerLinesCarryRequestIDs() {
	s.t.Helper()
	n := 0
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["route"] == nil {
			continue
		}
		n++
		if id, _ := l[platform.RequestIDKey].(string); id == "" {
			s.t.Errorf("a handler's log line has no %s: %s", platform.RequestIDKey, line)
		}
	}
	if n == 0 {
		s.t.Errorf("no handler log line (with a route) in the functions' output:\n%s", s.logs)
	}
}

// TestLambdaDeniedAndBadLinks: the refusals that end a flow early, through
// the real bootstraps.
func TestLambdaDeniedAndBadLinks(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const id = "e2e-customer-2"
	link := func(key string, expires time.Time) string {
		l, err := gotoauth.SignLink("https://"+apiDomain+"/authorize", []byte(key),
			gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(l)
		return u.RawQuery
	}

	for name, tc := range map[string]struct {
		query  string
		status int
	}{
		"forged signature": {link("not-the-link-signing-key", time.Now().Add(time.Minute)), http.StatusForbidden},
		"expired link":     {link(linkKey, time.Now().Add(-time.Minute)), http.StatusForbidden},
		"no signature":     {"connection_id=" + id + "&expires=" + strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10), http.StatusBadRequest},
	} {
		r := s.http("AuthorizeFunction", httpEvent("GET /authorize", tc.query))
		if r.StatusCode != tc.status || len(r.Cookies) != 0 || !strings.Contains(r.Body, "<h1") {
			t.Errorf("%s: %d (want %d), cookies %q: %s", name, r.StatusCode, tc.status, r.Cookies, r.Body)
		}
	}

	// The customer declines at GoTo.
	resp := s.http("AuthorizeFunction", httpEvent("GET /authorize", link(linkKey, time.Now().Add(15*time.Minute))))
	if resp.StatusCode != http.StatusFound || len(resp.Cookies) != 1 {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Cookies)
	}
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.goTo.Deny(resp.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"="+c.Value))
	loc, _ := url.Parse(r.Headers["Location"])
	if r.StatusCode != http.StatusFound || loc == nil || loc.Host != "app.example.com" || loc.Query().Get("status") != "error" ||
		loc.Query().Get("error") != "access_denied" || loc.Query().Get("connection_id") != id {
		t.Fatalf("denied callback: %d to %q", r.StatusCode, r.Headers["Location"])
	}
	if s.connection(id) != nil || s.goTo.TokenRequests() != 0 {
		t.Fatal("a declined consent stored a connection or called GoTo's token endpoint")
	}

	// A manual refresh of an unknown connection is skipped, not an error.
	sum := s.refresh(map[string]any{"connection_ids": []string{"no-such-connection"}, "force": true})
	if sum.Due != 1 || sum.Skipped != 1 || sum.Refreshed != 0 || sum.Failed != 0 {
		t.Fatalf("refresh of an unknown connection: %+v", sum)
	}
}
