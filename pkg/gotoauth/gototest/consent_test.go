package gototest_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestConsentPage(t *testing.T) {
	s := start(t)
	_, challenge := pkcePair("a")
	u := authURL(s, url.Values{
		"scope":                 {"collab: identity:scim.me"},
		"state":                 {`s"<tate>&`},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	})
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	page := string(body)
	for _, want := range []string{
		`<button name="decision" value="allow" id="allow">Allow</button>`,
		`<button name="decision" value="deny" id="deny">Deny</button>`,
		`<form method="post" action="/oauth/authorize">`,
		gototest.DefaultClientID,
		"mister.jones@fakemail.com",
		"collab: identity:scim.me",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(page, `s"<tate>`) {
		t.Error("state is not HTML-escaped")
	}
	action, fields := consentPage(t, u)
	if action != gototest.AuthorizePath {
		t.Errorf("action = %q", action)
	}
	want := url.Values{
		"client_id":             {s.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {testRedirect},
		"scope":                 {"collab: identity:scim.me"},
		"state":                 {`s"<tate>&`},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	if fields.Encode() != want.Encode() {
		t.Errorf("hidden fields = %v\nwant %v", fields, want)
	}
}

func TestConsentAllowAndDenyOverHTTP(t *testing.T) {
	const redirect = "https://app.example/cb?tenant=a%2Bb&x=1"
	tests := []struct {
		name     string
		decision string
		state    url.Values
		check    func(t *testing.T, q url.Values)
	}{
		{"allow", "allow", url.Values{"state": {"xyz"}}, func(t *testing.T, q url.Values) {
			if len(q.Get("code")) < 80 || q.Get("state") != "xyz" || q.Has("error") {
				t.Errorf("query = %v", q)
			}
		}},
		{"deny", "deny", url.Values{"state": {"xyz"}}, func(t *testing.T, q url.Values) {
			if q.Get("error") != "access_denied" || q.Get("error_description") == "" ||
				q.Get("state") != "xyz" || q.Has("code") {
				t.Errorf("query = %v", q)
			}
		}},
		{"allow without state", "allow", url.Values{"state": nil}, func(t *testing.T, q url.Values) {
			if q.Get("code") == "" || q.Has("state") {
				t.Errorf("query = %v", q)
			}
		}},
		{"deny without state", "deny", url.Values{"state": nil}, func(t *testing.T, q url.Values) {
			if q.Get("error") != "access_denied" || q.Has("state") {
				t.Errorf("query = %v", q)
			}
		}},
		{"empty state is echoed", "allow", url.Values{"state": {""}}, func(t *testing.T, q url.Values) {
			if !q.Has("state") || q.Get("state") != "" {
				t.Errorf("query = %v", q)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, gototest.WithRedirectURIs(redirect))
			extra := url.Values{"redirect_uri": {redirect}}
			for k, v := range tt.state {
				extra[k] = v
			}
			action, fields := consentPage(t, authURL(s, extra))
			res := submitConsent(t, s.URL+action, fields, tt.decision)
			if res.StatusCode != http.StatusFound {
				t.Fatalf("status %d", res.StatusCode)
			}
			loc := res.Header.Get("Location")
			if !strings.HasPrefix(loc, redirect+"&") {
				t.Fatalf("Location %q does not keep %q", loc, redirect)
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("tenant") != "a+b" || q.Get("x") != "1" {
				t.Errorf("original query lost: %v", q)
			}
			tt.check(t, q)
		})
	}
}

func TestConsentCodeFromHTTPExchanges(t *testing.T) {
	s := start(t)
	action, fields := consentPage(t, authURL(s, nil))
	res := submitConsent(t, s.URL+action, fields, "allow")
	loc, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	r := exchange(t, s, loc.Query().Get("code"), nil)
	if r.status != http.StatusOK || !s.ValidAccessToken(r.str("access_token")) {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
}

func TestConsentBadDecision(t *testing.T) {
	s := start(t)
	action, fields := consentPage(t, authURL(s, nil))
	for _, d := range []string{"", "maybe"} {
		res := submitConsent(t, s.URL+action, fields, d)
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("decision %q: status %d, Location %q", d, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

func TestAuthorizeRefusedWithoutRedirect(t *testing.T) {
	tests := []struct {
		name  string
		opts  []gototest.Option
		extra url.Values
		raw   string // appended to the query as is
	}{
		{name: "unknown client_id", extra: url.Values{"client_id": {"someone-else"}}},
		{name: "missing client_id", extra: url.Values{"client_id": nil}},
		{name: "repeated client_id", raw: "&client_id=" + gototest.DefaultClientID},
		{name: "missing redirect_uri", extra: url.Values{"redirect_uri": nil}},
		{name: "unregistered redirect_uri", opts: []gototest.Option{gototest.WithRedirectURIs("https://other.example/cb")}},
		{name: "registered redirect_uri with a trailing slash", opts: []gototest.Option{gototest.WithRedirectURIs(testRedirect)},
			extra: url.Values{"redirect_uri": {testRedirect + "/"}}},
		{name: "relative redirect_uri", extra: url.Values{"redirect_uri": {"/callback"}}},
		{name: "javascript redirect_uri", extra: url.Values{"redirect_uri": {"javascript:alert(1)"}}},
		{name: "ftp redirect_uri", extra: url.Values{"redirect_uri": {"ftp://app.example/cb"}}},
		{name: "redirect_uri with fragment", extra: url.Values{"redirect_uri": {testRedirect + "#frag"}}},
		{name: "response_type token", extra: url.Values{"response_type": {"token"}}},
		{name: "missing response_type", extra: url.Values{"response_type": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts...)
			u := authURL(s, tt.extra) + tt.raw
			res, err := noFollow.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			if loc := res.Header.Get("Location"); loc != "" {
				t.Errorf("redirected to %q", loc)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.Contains(string(body), "Invalid request") {
				t.Errorf("body: %s", body)
			}
			for name, consent := range map[string]func(string) (*url.URL, error){"Approve": s.Approve, "Deny": s.Deny} {
				if got, err := consent(u); !errors.Is(err, gototest.ErrBadAuthorizeRequest) {
					t.Errorf("%s = %v, %v; want ErrBadAuthorizeRequest", name, got, err)
				}
			}
			// The form post validates the same way.
			q, _ := url.ParseQuery(strings.SplitN(u, "?", 2)[1])
			if res := submitConsent(t, s.AuthorizeURL(), q, "allow"); res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST status %d, want 400", res.StatusCode)
			}
		})
	}
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	_, challenge := pkcePair("b")
	tests := []struct {
		name  string
		extra url.Values
		raw   string
	}{
		{name: "plain method", extra: url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}}},
		{name: "missing method (plain by default)", extra: url.Values{"code_challenge": {challenge}}},
		{name: "unknown method", extra: url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S512"}}},
		{name: "method without challenge", extra: url.Values{"code_challenge_method": {"S256"}}},
		{name: "short challenge", extra: url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}}},
		{name: "padded challenge", extra: url.Values{"code_challenge": {challenge + "="}, "code_challenge_method": {"S256"}}},
		{name: "repeated state", raw: "&state=again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t)
			u := authURL(s, tt.extra) + tt.raw
			check := func(how string, loc *url.URL) {
				t.Helper()
				q := loc.Query()
				if !strings.HasPrefix(loc.String(), testRedirect+"?") || q.Get("error") != "invalid_request" ||
					q.Get("error_description") == "" || q.Get("state") != "st-123" || q.Has("code") {
					t.Errorf("%s: redirected to %s", how, loc)
				}
			}
			res, err := noFollow.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusFound {
				t.Fatalf("GET status %d, want 302", res.StatusCode)
			}
			loc, _ := res.Location()
			check("GET", loc)
			for name, consent := range map[string]func(string) (*url.URL, error){"Approve": s.Approve, "Deny": s.Deny} {
				got, err := consent(u)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				check(name, got)
			}
		})
	}
}

func TestApproveAndDeny(t *testing.T) {
	s := start(t)
	u, err := s.Approve(authURL(s, nil))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); !strings.HasPrefix(u.String(), testRedirect+"?") || q.Get("state") != "st-123" || len(q.Get("code")) < 80 {
		t.Errorf("Approve = %s", u)
	}
	u, err = s.Deny(authURL(s, nil))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st-123" || q.Has("code") {
		t.Errorf("Deny = %s", u)
	}
	// The legacy path is accepted too.
	legacy := strings.Replace(authURL(s, nil), gototest.AuthorizePath, gototest.LegacyAuthorizePath, 1)
	if _, err := s.Approve(legacy); err != nil {
		t.Errorf("Approve(legacy path): %v", err)
	}
}

func TestApproveRejectsOtherEndpoints(t *testing.T) {
	s := start(t)
	good := authURL(s, nil)
	for _, u := range []string{
		strings.Replace(good, s.URL, "https://authentication.logmeininc.com", 1),
		strings.Replace(good, gototest.AuthorizePath, "/oauth/token", 1),
		"http://[::1",
	} {
		if got, err := s.Approve(u); err == nil || errors.Is(err, gototest.ErrBadAuthorizeRequest) {
			t.Errorf("Approve(%q) = %v, %v; want an endpoint error", u, got, err)
		}
	}
}

func TestCodesAreUniqueAndLong(t *testing.T) {
	s := start(t)
	seen := map[string]bool{}
	for range 50 {
		c := approveCode(t, s, nil)
		if len(c) < 80 || seen[c] {
			t.Fatalf("code of %d characters, duplicate=%v", len(c), seen[c])
		}
		if strings.ContainsAny(c, "+/=") {
			t.Fatalf("code is not base64url: %q", c)
		}
		seen[c] = true
	}
}

func TestHandlerMountedWithSetURL(t *testing.T) {
	s := gototest.NewUnstartedServer()
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/goto/", http.StripPrefix("/goto", s.Handler()))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	s.SetURL(ts.URL + "/goto/")
	if s.URL != ts.URL+"/goto" {
		t.Fatalf("URL = %q", s.URL)
	}
	if s.TokenURL() != ts.URL+"/goto/oauth/token" || s.MeURL() != ts.URL+"/goto/admin/rest/v1/me" {
		t.Fatalf("TokenURL %q MeURL %q", s.TokenURL(), s.MeURL())
	}
	action, fields := consentPage(t, authURL(s, nil))
	if action != "/goto/oauth/authorize" {
		t.Fatalf("form action %q", action)
	}
	res := submitConsent(t, ts.URL+action, fields, "allow")
	loc, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	r := exchange(t, s, loc.Query().Get("code"), nil)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	code := approveCode(t, s, nil) // Approve checks the prefix too
	if r := exchange(t, s, code, nil); r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
}

func TestUnstartedServerWithListener(t *testing.T) {
	s := gototest.NewUnstartedServer()
	if s.URL != "" {
		t.Fatalf("URL before Start = %q", s.URL)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	s.Listener = l
	s.Start()
	defer s.Close()
	if s.URL != "http://"+l.Addr().String() {
		t.Fatalf("URL = %q, listener %s", s.URL, l.Addr())
	}
	login(t, s)
	defer func() {
		if recover() == nil {
			t.Error("second Start did not panic")
		}
	}()
	s.Start()
}

func TestLegacyAuthorizePath(t *testing.T) {
	s := start(t)
	if s.LegacyAuthorizeURL() != s.URL+"/oauth/v2/authorize" {
		t.Fatalf("LegacyAuthorizeURL = %q", s.LegacyAuthorizeURL())
	}
	u := strings.Replace(authURL(s, nil), s.AuthorizeURL(), s.LegacyAuthorizeURL(), 1)
	action, fields := consentPage(t, u)
	if action != gototest.LegacyAuthorizePath {
		t.Fatalf("form action %q", action)
	}
	res := submitConsent(t, s.URL+action, fields, "deny")
	if loc, err := res.Location(); err != nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: %d %v", res.StatusCode, loc)
	}
}
