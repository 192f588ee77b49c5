package gototest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestFailureKinds(t *testing.T) {
	tests := []struct {
		failure gototest.Failure
		status  int
		ctype   string // prefix; "" means no Content-Type
		check   func(t *testing.T, r tokenResp)
	}{
		{gototest.OAuthError(400, "invalid_grant", "Token revoked."), 400, "application/json", func(t *testing.T, r tokenResp) {
			if string(r.body) != `{"error":"invalid_grant","error_description":"Token revoked."}` {
				t.Errorf("body %s", r.body)
			}
		}},
		{gototest.OAuthError(401, "invalid_client", "Client authentication failed."), 401, "application/json", func(t *testing.T, r tokenResp) {
			if r.str("error") != "invalid_client" {
				t.Errorf("body %s", r.body)
			}
		}},
		{gototest.ServerError(503), 503, "text/plain", func(t *testing.T, r tokenResp) {
			if len(r.body) == 0 || json.Valid(r.body) || strings.Contains(string(r.body), "<") {
				t.Errorf("body %q", r.body)
			}
		}},
		{gototest.HTMLError(502), 502, "text/html", func(t *testing.T, r tokenResp) {
			if !strings.Contains(string(r.body), "<html>") || !strings.Contains(string(r.body), "502 Bad Gateway") {
				t.Errorf("body %q", r.body)
			}
		}},
		{gototest.EmptyBody(500), 500, "", func(t *testing.T, r tokenResp) {
			if len(r.body) != 0 {
				t.Errorf("body %q", r.body)
			}
		}},
		{gototest.EmptyBody(200), 200, "", func(t *testing.T, r tokenResp) {
			if len(r.body) != 0 {
				t.Errorf("body %q", r.body)
			}
		}},
		{gototest.TruncatedJSON(), 200, "application/json", func(t *testing.T, r tokenResp) {
			if json.Valid(r.body) || !strings.HasPrefix(string(r.body), `{"access_token":"at_`) {
				t.Errorf("body %q", r.body)
			}
		}},
		{gototest.RateLimited(1500 * time.Millisecond), 429, "text/plain", func(t *testing.T, r tokenResp) {
			if r.header.Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}},
		{gototest.Decommissioned(), 404, "application/json", func(t *testing.T, r tokenResp) {
			if r.str("message") != gototest.DecommissionedMessage || len(r.json) != 1 {
				t.Errorf("body %s", r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.failure.String(), func(t *testing.T) {
			s := start(t)
			code := approveCode(t, s, nil)
			s.FailNext(1, tt.failure)
			r := exchange(t, s, code, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.status, r.body)
			}
			ct := r.header.Get("Content-Type")
			if (tt.ctype == "" && ct != "") || !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			tt.check(t, r)
			// The injected failure did not consume the code.
			if r := exchange(t, s, code, nil); r.status != http.StatusOK {
				t.Fatalf("exchange after the failure: %d %s", r.status, r.body)
			}
			if s.ExchangeRequests() != 2 {
				t.Errorf("ExchangeRequests = %d", s.ExchangeRequests())
			}
		})
	}
}

func TestInjectedFailureKeepsSingleUseRefreshToken(t *testing.T) {
	s := start(t, gototest.WithSingleUseRefreshTokens())
	rt := login(t, s).str("refresh_token")
	s.FailNext(1, gototest.ServerError(500))
	if r := refresh(t, s, rt); r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	if !s.ValidRefreshToken(rt) {
		t.Fatal("injected failure spent the refresh token")
	}
	if r := refresh(t, s, rt); r.status != 200 {
		t.Fatalf("refresh after failure: %d %s", r.status, r.body)
	}
}

func TestInjectedInvalidGrantCounts(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	s.FailNext(2, gototest.OAuthError(400, "invalid_grant", "nope"))
	s.FailNext(1, gototest.OAuthError(400, "invalid_request", "nope"))
	for range 3 {
		refresh(t, s, rt)
	}
	if s.InvalidGrants() != 2 || s.RefreshRequests() != 3 {
		t.Errorf("InvalidGrants %d RefreshRequests %d", s.InvalidGrants(), s.RefreshRequests())
	}
	if !s.ValidRefreshToken(rt) {
		t.Error("injected invalid_grant killed the refresh token")
	}
}

func TestFailNextQueue(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	s.FailNext(2, gototest.ServerError(503))
	s.FailNext(1, gototest.RateLimited(time.Second))
	s.FailNext(0, gototest.ServerError(500))
	s.FailNext(-1, gototest.ServerError(500))
	var got []int
	for range 5 {
		got = append(got, refresh(t, s, rt).status)
	}
	if want := []int{503, 503, 429, 200, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFailAlwaysAndStopFailing(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	s.FailAlways(gototest.HTMLError(502))
	s.FailNext(1, gototest.ServerError(504)) // queued failures come first
	var got []int
	for range 4 {
		got = append(got, refresh(t, s, rt).status)
	}
	if want := []int{504, 502, 502, 502}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	s.FailNext(3, gototest.ServerError(500))
	s.StopFailing()
	if r := refresh(t, s, rt); r.status != 200 {
		t.Errorf("after StopFailing: %d", r.status)
	}
}

func TestFailuresOnlyAffectTheTokenEndpoint(t *testing.T) {
	s := start(t)
	lr := login(t, s)
	s.FailAlways(gototest.ServerError(500))
	if _, err := s.Approve(authURL(s, nil)); err != nil {
		t.Errorf("Approve: %v", err)
	}
	_, fields := consentPage(t, authURL(s, nil))
	if res := submitConsent(t, s.AuthorizeURL(), fields, "allow"); res.StatusCode != http.StatusFound {
		t.Errorf("consent: %d", res.StatusCode)
	}
	if status, _ := getMe(t, s, "Bearer "+lr.str("access_token")); status != http.StatusOK {
		t.Errorf("/me: %d", status)
	}
}

func TestZeroFailurePanics(t *testing.T) {
	s := start(t)
	for name, f := range map[string]func(){
		"FailNext":       func() { s.FailNext(1, gototest.Failure{}) },
		"FailAlways":     func() { s.FailAlways(gototest.Failure{}) },
		"invalid status": func() { gototest.ServerError(42) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestSlowAnswersNormally(t *testing.T) {
	s := start(t)
	code := approveCode(t, s, nil)
	s.FailNext(1, gototest.Slow(100*time.Millisecond))
	begin := time.Now()
	r := exchange(t, s, code, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Errorf("answered after %s", d)
	}
}

// A slow request the client gave up on is still processed, like a provider
// that received it: a single-use refresh token is spent and its successor
// lost.
func TestSlowProcessesAbandonedRequest(t *testing.T) {
	s := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	defer s.Close()
	rt := login(t, s).str("refresh_token")
	s.FailNext(1, gototest.Slow(time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", rawBasic(s.ClientID, s.ClientSecret))
	// The client gives up once the server has the request.
	go func() {
		for s.RefreshRequests() == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	begin := time.Now()
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("request was not abandoned: %d", res.StatusCode)
	}
	s.Close() // waits for the abandoned request to be processed
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("Close waited %s", d)
	}
	if s.ValidRefreshToken(rt) {
		t.Error("the abandoned refresh did not spend the single-use token")
	}
	if s.RefreshRequests() != 1 {
		t.Errorf("RefreshRequests = %d", s.RefreshRequests())
	}
}

func TestWithDelay(t *testing.T) {
	s := start(t, gototest.WithDelay(50*time.Millisecond))
	code := approveCode(t, s, nil)
	begin := time.Now()
	if r := exchange(t, s, code, nil); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	s.FailNext(1, gototest.ServerError(500))
	if r := refresh(t, s, "x"); r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Errorf("two delayed requests took %s", d)
	}
}

func TestFailureString(t *testing.T) {
	for f, want := range map[gototest.Failure]string{
		gototest.OAuthError(400, "invalid_grant", "x"): "OAuthError(400, invalid_grant)",
		gototest.Slow(time.Second):                     "Slow(1s)",
		gototest.Decommissioned():                      "Decommissioned()",
		{}:                                             "Failure(invalid)",
	} {
		if got := f.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
