package gototest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func getMe(t *testing.T, s *gototest.Server, auth string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.MeURL(), nil)
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("/me body %q: %v", body, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return res.StatusCode, m
}

func TestMe(t *testing.T) {
	clock := newFakeClock()
	id := gototest.Identity{Email: "jane@example.com", FirstName: "Jane", LastName: "Doe", AccountKey: "1", OrganizerKey: "2"}
	s := start(t, gototest.WithClock(clock.Now), gototest.WithIdentity(id))
	lr := login(t, s)
	at := lr.str("access_token")

	status, m := getMe(t, s, "Bearer "+at)
	if status != http.StatusOK || m["email"] != id.Email || m["key"] != "2" || m["accountKey"] != "1" ||
		m["firstName"] != "Jane" || m["principal"] != id.Email {
		t.Fatalf("valid token: %d %v", status, m)
	}
	if status, _ := getMe(t, s, "bearer "+at); status != http.StatusOK {
		t.Errorf("lower-case scheme: %d", status)
	}

	invalid := map[string]string{
		"missing":       "",
		"unknown":       "Bearer at_nope",
		"refresh token": "Bearer " + lr.str("refresh_token"),
		"basic scheme":  rawBasic(s.ClientID, s.ClientSecret),
		"no token":      "Bearer",
	}
	for name, auth := range invalid {
		status, m := getMe(t, s, auth)
		if status != http.StatusForbidden || m["int_err_code"] != "InvalidToken" || m["msg"] != "Invalid token passed" {
			t.Errorf("%s: %d %v", name, status, m)
		}
	}

	clock.Advance(time.Hour)
	if status, m := getMe(t, s, "Bearer "+at); status != http.StatusUnauthorized || m["int_err_code"] != "InvalidToken" {
		t.Errorf("expired token: %d %v", status, m)
	}

	at2 := refresh(t, s, lr.str("refresh_token")).str("access_token")
	if status, _ := getMe(t, s, "Bearer "+at2); status != http.StatusOK {
		t.Errorf("refreshed token: %d", status)
	}
	if !s.ExpireAccessToken(at2) || s.ExpireAccessToken("at_nope") {
		t.Error("ExpireAccessToken: want true for a live token, false for an unknown one")
	}
	if status, _ := getMe(t, s, "Bearer "+at2); status != http.StatusUnauthorized {
		t.Errorf("token expired early: %d", status)
	}
	if s.APIRejections() == 0 || s.APIRequests() <= s.APIRejections() {
		t.Errorf("API counters: %d requests, %d rejections", s.APIRequests(), s.APIRejections())
	}
	at2 = refresh(t, s, lr.str("refresh_token")).str("access_token")
	s.Revoke(at2)
	if status, _ := getMe(t, s, "Bearer "+at2); status != http.StatusForbidden {
		t.Errorf("revoked token: %d", status)
	}
}
