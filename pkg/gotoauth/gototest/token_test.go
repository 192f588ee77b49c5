package gototest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestExchangeResponseStyles(t *testing.T) {
	id := gototest.DefaultIdentity()
	tests := []struct {
		name   string
		opts   []gototest.Option
		fields []string
		values map[string]any
	}{
		{
			name:   "current (default)",
			fields: []string{"access_token", "expires_in", "principal", "refresh_token", "scope", "token_type"},
			values: map[string]any{"token_type": "Bearer", "expires_in": 3600.0, "principal": id.Email, "scope": "collab: cr.v1.read"},
		},
		{
			name: "legacy",
			opts: []gototest.Option{gototest.WithStyle(gototest.StyleLegacy)},
			fields: []string{"access_token", "account_key", "account_type", "email", "expires_in", "firstName",
				"lastName", "organizer_key", "refresh_token", "token_type", "version"},
			values: map[string]any{
				"token_type": "Bearer", "expires_in": 3600.0, "account_key": id.AccountKey, "account_type": "",
				"email": id.Email, "firstName": "Moon", "lastName": "Beam", "organizer_key": id.OrganizerKey, "version": "3",
			},
		},
		{
			name:   "current, expires_in as string",
			opts:   []gototest.Option{gototest.WithExpiresInAsString()},
			fields: []string{"access_token", "expires_in", "principal", "refresh_token", "scope", "token_type"},
			values: map[string]any{"expires_in": "3600"},
		},
		{
			name:   "legacy, custom identity and lifetime",
			opts:   []gototest.Option{gototest.WithStyle(gototest.StyleLegacy), gototest.WithAccessTokenLifetime(90 * time.Second), gototest.WithIdentity(gototest.Identity{Email: "a@b.example", AccountType: "corporate"})},
			fields: []string{"access_token", "account_key", "account_type", "email", "expires_in", "firstName", "lastName", "organizer_key", "refresh_token", "token_type", "version"},
			values: map[string]any{"expires_in": 90.0, "email": "a@b.example", "account_type": "corporate", "firstName": "", "account_key": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts...)
			code := approveCode(t, s, url.Values{"scope": {"collab: cr.v1.read"}})
			r := exchange(t, s, code, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if got := keys(r.json); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v\nwant     %v", got, tt.fields)
			}
			for k, want := range tt.values {
				if r.json[k] != want {
					t.Errorf("%s = %#v, want %#v", k, r.json[k], want)
				}
			}
			at, rt := r.str("access_token"), r.str("refresh_token")
			if !strings.HasPrefix(at, "at_") || len(at) < 1000 {
				t.Errorf("access token: prefix %q, %d characters", at[:min(3, len(at))], len(at))
			}
			if !strings.HasPrefix(rt, "rt_") || len(rt) < 200 {
				t.Errorf("refresh token: prefix %q, %d characters", rt[:min(3, len(rt))], len(rt))
			}
			if !s.ValidAccessToken(at) || !s.ValidRefreshToken(rt) || s.ValidAccessToken(rt) || s.ValidRefreshToken(at) {
				t.Error("issued tokens are not valid as what they are, or valid as what they are not")
			}
		})
	}
}

func TestDefaultScope(t *testing.T) {
	for _, tt := range []struct {
		opts []gototest.Option
		want string
	}{
		{nil, gototest.DefaultScope},
		{[]gototest.Option{gototest.WithDefaultScope("identity:scim.me")}, "identity:scim.me"},
	} {
		s := start(t, tt.opts...)
		if got := login(t, s).str("scope"); got != tt.want {
			t.Errorf("scope = %q, want %q", got, tt.want)
		}
	}
}

func TestLegacyTokenPath(t *testing.T) {
	s := start(t)
	r := postTokenTo(t, s.LegacyTokenURL(), rawBasic(s.ClientID, s.ClientSecret), url.Values{
		"grant_type": {"authorization_code"}, "code": {approveCode(t, s, nil)}, "redirect_uri": {testRedirect},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}

func TestClientAuthentication(t *testing.T) {
	const id, secret = "client+id", "3naO10IA2agcvG+9I9TGEQ==/x:y"
	tests := []struct {
		name string
		auth string
		ok   bool
	}{
		{"raw basic", rawBasic(id, secret), true},
		{"raw basic, lower-case scheme", "basic " + strings.TrimPrefix(rawBasic(id, secret), "Basic "), true},
		{"form-encoded basic (RFC 6749, x/oauth2)", formBasic(id, secret), false},
		{"missing header", "", false},
		{"wrong secret", rawBasic(id, secret+"x"), false},
		{"wrong id", rawBasic("other", secret), false},
		{"secret only", rawBasic("", secret), false},
		{"bearer scheme", "Bearer " + strings.TrimPrefix(rawBasic(id, secret), "Basic "), false},
		{"not base64", "Basic %%%", false},
		{"no colon", "Basic " + strings.TrimPrefix(rawBasic(id+secret, ""), "Basic ")[:8], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, gototest.WithClient(id, secret))
			code := approveCode(t, s, nil)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
			r := postToken(t, s, tt.auth, form)
			if tt.ok {
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			if r.status != http.StatusUnauthorized ||
				string(r.body) != `{"error":"invalid_client","error_description":"Client authentication failed."}` {
				t.Fatalf("got %d %s, want 401 invalid_client", r.status, r.body)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
			// A request that fails client authentication consumes nothing.
			if r := postToken(t, s, rawBasic(id, secret), form); r.status != http.StatusOK {
				t.Fatalf("exchange after rejected authentication: %d %s", r.status, r.body)
			}
		})
	}
}

func TestDefaultSecretNeedsRawBasic(t *testing.T) {
	s := start(t)
	if !strings.ContainsAny(s.ClientSecret, "+") || !strings.Contains(s.ClientSecret, "/") || !strings.Contains(s.ClientSecret, "=") {
		t.Fatalf("default secret %q lacks '+', '/' or '='", s.ClientSecret)
	}
	lr := login(t, s)
	r := postToken(t, s, formBasic(s.ClientID, s.ClientSecret), url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {lr.str("refresh_token")},
	})
	wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
}

func TestClientSecretPostIsNotEnough(t *testing.T) {
	s := start(t)
	r := postToken(t, s, "", url.Values{
		"grant_type": {"authorization_code"}, "code": {approveCode(t, s, nil)}, "redirect_uri": {testRedirect},
		"client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
	})
	wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
}

func TestCodeIsSingleUse(t *testing.T) {
	s := start(t)
	code := approveCode(t, s, nil)
	first := exchange(t, s, code, nil)
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", first.status, first.body)
	}
	wantOAuthError(t, exchange(t, s, code, nil), http.StatusBadRequest, "invalid_grant")
	if s.InvalidGrants() != 1 {
		t.Errorf("InvalidGrants = %d", s.InvalidGrants())
	}
	// The tokens of the first exchange are unaffected.
	if !s.ValidAccessToken(first.str("access_token")) {
		t.Error("access token of the first exchange is no longer valid")
	}
}

func TestExchangeInvalidGrants(t *testing.T) {
	verifier, challenge := pkcePair("v")
	other, _ := pkcePair("w")
	pkce := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	tests := []struct {
		name  string
		auth  url.Values // extra authorization parameters
		token url.Values // extra token parameters
		ok    bool
	}{
		{name: "unknown code", token: url.Values{"code": {"not-a-code"}}},
		{name: "redirect_uri differs", token: url.Values{"redirect_uri": {"https://app.example/other"}}},
		{name: "redirect_uri with trailing slash", token: url.Values{"redirect_uri": {testRedirect + "/"}}},
		{name: "redirect_uri escaped differently", auth: url.Values{"redirect_uri": {"https://app.example/cb?a=b%20c"}},
			token: url.Values{"redirect_uri": {"https://app.example/cb?a=b+c"}}},
		{name: "redirect_uri missing", token: url.Values{"redirect_uri": nil}},
		{name: "redirect_uri empty", token: url.Values{"redirect_uri": {""}}},
		{name: "pkce right", auth: pkce, token: url.Values{"code_verifier": {verifier}}, ok: true},
		{name: "pkce wrong verifier", auth: pkce, token: url.Values{"code_verifier": {other}}},
		{name: "pkce missing verifier", auth: pkce},
		{name: "pkce malformed verifier", auth: pkce, token: url.Values{"code_verifier": {"short"}}},
		{name: "pkce challenge as verifier", auth: pkce, token: url.Values{"code_verifier": {challenge}}},
		{name: "verifier without challenge", token: url.Values{"code_verifier": {verifier}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t)
			code := approveCode(t, s, tt.auth)
			token := url.Values{}
			if ru := tt.auth.Get("redirect_uri"); ru != "" {
				token.Set("redirect_uri", ru)
			}
			for k, v := range tt.token {
				token[k] = v
			}
			r := exchange(t, s, code, token)
			if tt.ok {
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			if tt.token.Has("code") {
				return
			}
			// The failed attempt burned the code: a correct request fails too.
			fixed := url.Values{"code_verifier": nil}
			if ru := tt.auth.Get("redirect_uri"); ru != "" {
				fixed.Set("redirect_uri", ru)
			}
			if tt.auth.Has("code_challenge") {
				fixed.Set("code_verifier", verifier)
			}
			wantOAuthError(t, exchange(t, s, code, fixed), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestCodeExpiry(t *testing.T) {
	tests := []struct {
		name     string
		opts     []gototest.Option
		lifetime time.Duration
	}{
		{"default", nil, 600 * time.Second},
		{"WithCodeLifetime", []gototest.Option{gototest.WithCodeLifetime(30 * time.Second)}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := start(t, append(tt.opts, gototest.WithClock(clock.Now))...)
			fresh, stale := approveCode(t, s, nil), approveCode(t, s, nil)
			clock.Advance(tt.lifetime - time.Second)
			if r := exchange(t, s, fresh, nil); r.status != http.StatusOK {
				t.Fatalf("just before expiry: %d %s", r.status, r.body)
			}
			clock.Advance(time.Second)
			wantOAuthError(t, exchange(t, s, stale, nil), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	clock := newFakeClock()
	s := start(t, gototest.WithClock(clock.Now))
	at := login(t, s).str("access_token")
	clock.Advance(3599 * time.Second)
	if !s.ValidAccessToken(at) {
		t.Fatal("access token invalid before 3600s")
	}
	clock.Advance(time.Second)
	if s.ValidAccessToken(at) {
		t.Fatal("access token valid after 3600s")
	}
}

func TestRefreshDefaultKeepsToken(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	var access []string
	for i := range 2 {
		r := refresh(t, s, rt)
		if r.status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", i, r.status, r.body)
		}
		if _, has := r.json["refresh_token"]; has {
			t.Errorf("refresh %d: response has refresh_token", i)
		}
		want := []string{"access_token", "expires_in", "principal", "scope", "token_type"}
		if got := keys(r.json); !slices.Equal(got, want) {
			t.Errorf("refresh %d: fields %v, want %v", i, got, want)
		}
		access = append(access, r.str("access_token"))
	}
	if access[0] == access[1] || !s.ValidAccessToken(access[0]) || !s.ValidAccessToken(access[1]) {
		t.Error("refreshed access tokens are not distinct and valid")
	}
	if !s.ValidRefreshToken(rt) {
		t.Error("refresh token died")
	}
	if s.RefreshRequests() != 2 || s.ExchangeRequests() != 1 || s.TokenRequests() != 3 {
		t.Errorf("counters: refresh %d exchange %d token %d", s.RefreshRequests(), s.ExchangeRequests(), s.TokenRequests())
	}
}

func TestRefreshSingleUse(t *testing.T) {
	s := start(t, gototest.WithSingleUseRefreshTokens())
	old := login(t, s).str("refresh_token")
	r := refresh(t, s, old)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	next := r.str("refresh_token")
	if next == "" || next == old || !strings.HasPrefix(next, "rt_") {
		t.Fatalf("new refresh token %q", next)
	}
	if s.ValidRefreshToken(old) || !s.ValidRefreshToken(next) {
		t.Fatal("old token still valid or new token invalid")
	}
	wantOAuthError(t, refresh(t, s, old), http.StatusBadRequest, "invalid_grant")
	r = refresh(t, s, next)
	if r.status != http.StatusOK || r.str("refresh_token") == next {
		t.Fatalf("refresh with the new token: %d %s", r.status, r.body)
	}
	if s.InvalidGrants() != 1 {
		t.Errorf("InvalidGrants = %d", s.InvalidGrants())
	}
}

func TestRefreshRotationEcho(t *testing.T) {
	s := start(t, gototest.WithRefreshTokenRotation(gototest.RotationEcho()))
	rt := login(t, s).str("refresh_token")
	for range 2 {
		if r := refresh(t, s, rt); r.status != http.StatusOK || r.str("refresh_token") != rt {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
	}
}

func TestRefreshRotationAfter(t *testing.T) {
	clock := newFakeClock()
	s := start(t, gototest.WithClock(clock.Now), gototest.WithRefreshTokenRotation(gototest.RotationAfter(18*24*time.Hour)))
	rt := login(t, s).str("refresh_token")
	clock.Advance(17 * 24 * time.Hour)
	if r := refresh(t, s, rt); r.status != http.StatusOK || r.json["refresh_token"] != nil {
		t.Fatalf("young token: %d %s", r.status, r.body)
	}
	clock.Advance(24 * time.Hour)
	r := refresh(t, s, rt)
	next := r.str("refresh_token")
	if r.status != http.StatusOK || next == "" || next == rt {
		t.Fatalf("18-day-old token: %d %s", r.status, r.body)
	}
	wantOAuthError(t, refresh(t, s, rt), http.StatusBadRequest, "invalid_grant")
	// The new token has a fresh 30-day life.
	clock.Advance(29 * 24 * time.Hour)
	if !s.ValidRefreshToken(next) {
		t.Fatal("new refresh token expired early")
	}
}

func TestRefreshTokenExpiry(t *testing.T) {
	tests := []struct {
		name     string
		opts     []gototest.Option
		lifetime time.Duration
	}{
		{"default 30 days", nil, 30 * 24 * time.Hour},
		{"WithRefreshTokenLifetime", []gototest.Option{gototest.WithRefreshTokenLifetime(time.Hour)}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := start(t, append(tt.opts, gototest.WithClock(clock.Now))...)
			rt := login(t, s).str("refresh_token")
			clock.Advance(tt.lifetime - time.Second)
			if r := refresh(t, s, rt); r.status != http.StatusOK {
				t.Fatalf("before expiry: %d %s", r.status, r.body)
			}
			clock.Advance(time.Second)
			if s.ValidRefreshToken(rt) {
				t.Error("ValidRefreshToken after expiry")
			}
			wantOAuthError(t, refresh(t, s, rt), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestRefreshUnknownAndRevoked(t *testing.T) {
	s := start(t)
	lr := login(t, s)
	wantOAuthError(t, refresh(t, s, "rt_unknown"), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, refresh(t, s, lr.str("access_token")), http.StatusBadRequest, "invalid_grant")
	if !s.Revoke(lr.str("refresh_token")) || s.Revoke("nothing") {
		t.Fatal("Revoke results")
	}
	wantOAuthError(t, refresh(t, s, lr.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
}

func TestBadTokenRequests(t *testing.T) {
	s := start(t)
	auth := rawBasic(s.ClientID, s.ClientSecret)
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, 400, "unsupported_grant_type"},
		{"client_credentials grant", url.Values{"grant_type": {"client_credentials"}}, 400, "unsupported_grant_type"},
		{"missing grant_type", url.Values{"code": {"x"}}, 400, "invalid_request"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}}, 400, "invalid_request"},
		{"missing refresh_token", url.Values{"grant_type": {"refresh_token"}}, 400, "invalid_request"},
		{"repeated code", url.Values{"grant_type": {"authorization_code"}, "code": {"a", "b"}}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOAuthError(t, postToken(t, s, auth, tt.form), tt.status, tt.code)
		})
	}
	t.Run("JSON body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(`{"grant_type":"refresh_token"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", res.StatusCode)
		}
	})
	t.Run("GET", func(t *testing.T) {
		res, err := http.Get(s.TokenURL())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d", res.StatusCode)
		}
	})
}

func TestCounters(t *testing.T) {
	s := start(t)
	lr := login(t, s)
	refresh(t, s, lr.str("refresh_token"))
	refresh(t, s, "rt_bogus")
	postToken(t, s, rawBasic(s.ClientID, s.ClientSecret), url.Values{"grant_type": {"password"}})
	postToken(t, s, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	if got := [4]int{s.TokenRequests(), s.ExchangeRequests(), s.RefreshRequests(), s.InvalidGrants()}; got != [4]int{5, 1, 3, 1} {
		t.Errorf("token, exchange, refresh, invalid_grant = %v, want [5 1 3 1]", got)
	}
}
