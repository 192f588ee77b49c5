// Package config reads the connector's configuration from the environment,
// once, at cold start, and says clearly what is wrong with it.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Config is the connector's configuration. See README.md for each variable.
type Config struct {
	ClientID string // GOTO_CLIENT_ID

	// SecretID names the Secrets Manager secret (GOTO_SECRET_ID). When it is
	// empty, ClientSecret and LinkSigningKey come from the environment
	// (local development only).
	SecretID       string
	ClientSecret   string // GOTO_CLIENT_SECRET
	LinkSigningKey string // GOTO_LINK_SIGNING_KEY

	// LinkSecretID names the Secrets Manager secret that holds the connect
	// link keys (LINK_SECRET_ID): link_signing_key and, after a rotation,
	// previous_link_signing_key. Set, authorize reads only that secret and
	// never the client secret; empty: the link keys come from SecretID (or
	// the local variables) as before.
	LinkSecretID string

	Endpoint    gotoauth.Endpoint // GOTO_AUTHORIZE_URL, GOTO_TOKEN_URL, GOTO_REVOKE_URL ("" when "none")
	RedirectURI string            // GOTO_REDIRECT_URI
	TableName   string            // TABLE_NAME

	// TokenKMSKeyID is the KMS key (ARN, id or alias) whose data keys
	// encrypt tokens at rest (TOKEN_KMS_KEY_ID); empty: the Secrets Manager
	// keys of token_encryption_keys, or none.
	TokenKMSKeyID string

	// AllowedReturnOrigins are the normalised origins ("https://app.example.com")
	// a connect link may send the browser back to (ALLOWED_RETURN_ORIGINS).
	AllowedReturnOrigins []string

	PKCE bool // PKCE

	Schedule gotoauth.Schedule // REFRESH_INTERVAL, ACCESS_TOKEN_REFRESH_AHEAD, REFRESH_TOKEN_LIFETIME, REFRESH_SAFETY_MARGIN

	RefreshRateLimit float64 // REFRESH_RATE_LIMIT, provider calls per second

	// EventBusName is the EventBridge bus that receives lifecycle events
	// (EVENT_BUS_NAME, default "default"); "" when it is "none": events off.
	EventBusName string
}

// validEventBusName reports what EVENT_BUS_NAME may hold: a bus name (1 to
// 256 of A-Z a-z 0-9 . _ / : -) or an ARN (arn: and up to 1000 more). Not a
// regexp: compiling one with these bounds took 3.9 ms of every cold start.
func validEventBusName(v string) bool {
	max := 256
	if rest, ok := strings.CutPrefix(v, "arn:"); ok && rest != "" {
		v, max = rest, 1000
	}
	if v == "" || len(v) > max {
		return false
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._/:-", r)) {
			return false
		}
	}
	return true
}

// Load reads the configuration through getenv (os.Getenv in production).
// The error lists every problem found, one per line.
func Load(getenv func(string) string) (*Config, error) {
	var errs []error
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	required := func(name string) string {
		v := get(name)
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
		return v
	}
	duration := func(name string, def time.Duration, allowZero bool) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d == 0 && !allowZero) {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive Go duration such as 90s, 15m or 24h", name, v))
			return def
		}
		return d
	}

	c := &Config{
		ClientID:       required("GOTO_CLIENT_ID"),
		SecretID:       get("GOTO_SECRET_ID"),
		LinkSecretID:   get("LINK_SECRET_ID"),
		ClientSecret:   getenv("GOTO_CLIENT_SECRET"),
		LinkSigningKey: getenv("GOTO_LINK_SIGNING_KEY"),
		RedirectURI:    required("GOTO_REDIRECT_URI"),
		TableName:      required("TABLE_NAME"),
		TokenKMSKeyID:  get("TOKEN_KMS_KEY_ID"),
		Endpoint: gotoauth.Endpoint{
			AuthURL:   get("GOTO_AUTHORIZE_URL"),
			TokenURL:  get("GOTO_TOKEN_URL"),
			RevokeURL: get("GOTO_REVOKE_URL"),
		},
	}
	if c.Endpoint.AuthURL == "" {
		c.Endpoint.AuthURL = oauth.GoToAuthURL
	}
	if c.Endpoint.TokenURL == "" {
		c.Endpoint.TokenURL = oauth.GoToTokenURL
	}
	switch c.Endpoint.RevokeURL {
	case "":
		c.Endpoint.RevokeURL = oauth.GoToRevokeURL
	case "none":
		c.Endpoint.RevokeURL = "" // revocation on disconnect turned off
	}
	for _, u := range []struct{ name, value string }{
		{"GOTO_REVOKE_URL", c.Endpoint.RevokeURL},
		{"GOTO_AUTHORIZE_URL", c.Endpoint.AuthURL},
		{"GOTO_TOKEN_URL", c.Endpoint.TokenURL},
		{"GOTO_REDIRECT_URI", c.RedirectURI},
	} {
		if u.value != "" && !isHTTPURL(u.value) {
			errs = append(errs, fmt.Errorf("%s=%q is not an absolute http(s) URL", u.name, u.value))
		}
	}
	// authorize runs with LINK_SECRET_ID alone; the functions that call
	// GoTo's token endpoint fail on their first request without a client
	// secret (see platform.FromEnv).
	if c.SecretID == "" && c.LinkSecretID == "" && (c.ClientSecret == "" || c.LinkSigningKey == "") {
		errs = append(errs, errors.New("GOTO_SECRET_ID is required (authorize: or LINK_SECRET_ID; for local development only, both GOTO_CLIENT_SECRET and GOTO_LINK_SIGNING_KEY)"))
	}

	for _, o := range strings.Split(get("ALLOWED_RETURN_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		origin, err := ParseOrigin(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("ALLOWED_RETURN_ORIGINS: %v", err))
			continue
		}
		c.AllowedReturnOrigins = append(c.AllowedReturnOrigins, origin)
	}

	c.PKCE = true
	if v := get("PKCE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PKCE=%q is not true or false", v))
		}
		c.PKCE = b || err != nil
	}

	c.Schedule = gotoauth.Schedule{
		Interval:             duration("REFRESH_INTERVAL", tuning.DefaultRefreshInterval, false),
		AccessTokenAhead:     duration("ACCESS_TOKEN_REFRESH_AHEAD", 0, true),
		RefreshTokenLifetime: duration("REFRESH_TOKEN_LIFETIME", tuning.DefaultRefreshTokenLifetime, false),
		// Unset: 72h, or a tenth of a lifetime shorter than that.
		SafetyMargin: duration("REFRESH_SAFETY_MARGIN", 0, false),
	}
	if m, l := c.Schedule.SafetyMargin, c.Schedule.RefreshTokenLifetime; m > 0 && l > 0 && m >= l {
		errs = append(errs, fmt.Errorf("REFRESH_SAFETY_MARGIN=%s is not shorter than REFRESH_TOKEN_LIFETIME=%s", m, l))
	}

	c.RefreshRateLimit = 10
	if v := get("REFRESH_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("REFRESH_RATE_LIMIT=%q is not a positive number of calls per second", v))
		} else {
			c.RefreshRateLimit = f
		}
	}

	switch v := get("EVENT_BUS_NAME"); {
	case v == "":
		c.EventBusName = "default"
	case v == "none":
	case !validEventBusName(v):
		errs = append(errs, fmt.Errorf("EVENT_BUS_NAME=%q is not an EventBridge bus name or ARN (or none, which turns lifecycle events off)", v))
	default:
		c.EventBusName = v
	}

	if len(errs) > 0 {
		return nil, fmt.Errorf("configuration:\n%w", errors.Join(errs...))
	}
	return c, nil
}

// ParseOrigin normalises an origin or URL to "scheme://host[:port]": https,
// or http only for localhost, 127.0.0.1 and [::1]; default ports dropped.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("%q has user information", s)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	switch {
	case scheme == "https":
		if port == "443" {
			port = ""
		}
	case scheme == "http" && IsLoopbackHost(host):
		if port == "80" {
			port = ""
		}
	default:
		return "", fmt.Errorf("%q must use https (http only for localhost)", s)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// IsLoopbackHost reports whether host (without port) names this machine.
func IsLoopbackHost(host string) bool {
	host = strings.Trim(strings.ToLower(host), "[]")
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// ReturnToAllowed reports whether returnTo is an absolute URL whose origin is
// one of the allowed ones.
func (c *Config) ReturnToAllowed(returnTo string) bool {
	origin, err := ParseOrigin(returnTo)
	if err != nil {
		return false
	}
	for _, o := range c.AllowedReturnOrigins {
		if o == origin {
			return true
		}
	}
	return false
}
