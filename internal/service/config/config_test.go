package config

import (
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func base() map[string]string {
	return map[string]string{
		"GOTO_CLIENT_ID":         "cid",
		"GOTO_SECRET_ID":         "goto-connector",
		"GOTO_REDIRECT_URI":      "https://abc.execute-api.eu-west-1.amazonaws.com/callback",
		"TABLE_NAME":             "t",
		"ALLOWED_RETURN_ORIGINS": "https://app.example.com, http://localhost:3000,https://App.Example.org:443",
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != (gotoauth.Endpoint{AuthURL: oauth.GoToAuthURL, TokenURL: oauth.GoToTokenURL, RevokeURL: oauth.GoToRevokeURL}) {
		t.Errorf("endpoint = %+v", c.Endpoint)
	}
	if !c.PKCE || c.RefreshRateLimit != 10 || c.Schedule.Interval != 24*time.Hour ||
		c.Schedule.RefreshTokenLifetime != 720*time.Hour || c.Schedule.AccessTokenAhead != 0 || c.EventBusName != "default" {
		t.Errorf("defaults = %+v", c)
	}
	want := []string{"https://app.example.com", "http://localhost:3000", "https://app.example.org"}
	if strings.Join(c.AllowedReturnOrigins, " ") != strings.Join(want, " ") {
		t.Errorf("origins = %v", c.AllowedReturnOrigins)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	m := map[string]string{
		"GOTO_REDIRECT_URI":      "not a url",
		"ALLOWED_RETURN_ORIGINS": "http://app.example.com",
		"REFRESH_INTERVAL":       "1 day",
		"REFRESH_RATE_LIMIT":     "-1",
		"PKCE":                   "maybe",
		"EVENT_BUS_NAME":         "my bus",
	}
	_, err := Load(env(m))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"GOTO_CLIENT_ID is required", "TABLE_NAME is required", "GOTO_REDIRECT_URI", "GOTO_SECRET_ID is required",
		"must use https", "REFRESH_INTERVAL", "REFRESH_RATE_LIMIT", "PKCE", "EVENT_BUS_NAME"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Any positive durations are accepted (the schedule keeps refreshes inside
// the refresh token's life whatever REFRESH_INTERVAL says).
func TestLoadShortDurations(t *testing.T) {
	m := base()
	m["REFRESH_TOKEN_LIFETIME"] = "10s"
	if _, err := Load(env(m)); err != nil {
		t.Fatal(err)
	}
	m["REFRESH_INTERVAL"], m["REFRESH_TOKEN_LIFETIME"], m["ACCESS_TOKEN_REFRESH_AHEAD"] = "5s", "60s", "1s"
	c, err := Load(env(m))
	if err != nil || c.Schedule.Interval != 5*time.Second || c.Schedule.AccessTokenAhead != time.Second {
		t.Fatalf("short durations: %+v, %v", c, err)
	}
}

func TestReturnToAllowed(t *testing.T) {
	c, err := Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"https://app.example.com/integrations?x=1":  true,
		"https://APP.example.com:443/":              true,
		"http://localhost:3000/cb":                  true,
		"https://app.example.com.evil.com/":         false,
		"https://evil.com/?https://app.example.com": false,
		"http://app.example.com/":                   false,
		"https://user@app.example.com/":             false,
		"//app.example.com/":                        false,
		"javascript:alert(1)":                       false,
		"http://localhost:3001/":                    false,
	} {
		if got := c.ReturnToAllowed(u); got != want {
			t.Errorf("ReturnToAllowed(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestEventBusName(t *testing.T) {
	for v, want := range map[string]string{
		"":                      "default",
		"none":                  "",
		"goto-connector-events": "goto-connector-events",
		"arn:aws:events:eu-west-1:123456789012:event-bus/saas": "arn:aws:events:eu-west-1:123456789012:event-bus/saas",
	} {
		m := base()
		m["EVENT_BUS_NAME"] = v
		c, err := Load(env(m))
		if err != nil {
			t.Fatalf("EVENT_BUS_NAME=%q: %v", v, err)
		}
		if c.EventBusName != want {
			t.Errorf("EVENT_BUS_NAME=%q: bus %q, want %q", v, c.EventBusName, want)
		}
	}
}

func TestLoadRevokeURL(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"none", ""},
		{"http://127.0.0.1:9/oauth/revoke", "http://127.0.0.1:9/oauth/revoke"},
	} {
		m := base()
		m["GOTO_REVOKE_URL"] = tc.value
		c, err := Load(env(m))
		if err != nil {
			t.Fatalf("%q: %v", tc.value, err)
		}
		if c.Endpoint.RevokeURL != tc.want {
			t.Errorf("GOTO_REVOKE_URL=%q: RevokeURL %q, want %q", tc.value, c.Endpoint.RevokeURL, tc.want)
		}
	}
	m := base()
	m["GOTO_REVOKE_URL"] = "identity.goto.com/oauth/revoke"
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "GOTO_REVOKE_URL") {
		t.Errorf("a relative GOTO_REVOKE_URL: %v", err)
	}
}

// authorize's environment in the stack: LINK_SECRET_ID without
// GOTO_SECRET_ID is a configuration; neither (nor the local values) is not.
func TestLinkSecretAlone(t *testing.T) {
	m := base()
	delete(m, "GOTO_SECRET_ID")
	m["LINK_SECRET_ID"] = " arn:aws:secretsmanager:us-east-1:123456789012:secret:LinkSecret-Ab12Cd "
	c, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if c.LinkSecretID != "arn:aws:secretsmanager:us-east-1:123456789012:secret:LinkSecret-Ab12Cd" || c.SecretID != "" {
		t.Errorf("LinkSecretID %q, SecretID %q", c.LinkSecretID, c.SecretID)
	}
	delete(m, "LINK_SECRET_ID")
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "GOTO_SECRET_ID is required (authorize: or LINK_SECRET_ID") {
		t.Errorf("no secret at all: %v", err)
	}
}
