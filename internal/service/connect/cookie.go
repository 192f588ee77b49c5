package connect

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/gotoconnector/gotoconnector/internal/service/config"
)

// The binding cookie ties a state to the browser that started the flow.
// Each flow has its own cookie, named after a hash of its state, so a
// customer can connect two accounts in two tabs at once.
const bindingCookiePrefix = "goto_connect_"

func bindingCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return bindingCookiePrefix + hex.EncodeToString(sum[:8])
}

// bindingCookie returns the Set-Cookie value for a new flow. It is scoped to
// the callback's path, HttpOnly, SameSite=Lax (so it rides along GoTo's
// top-level redirect back), lives as long as the pending state, and is
// Secure unless the redirect URI is http on localhost.
func bindingCookie(redirectURI, state, value string) string {
	c := &http.Cookie{
		Name:     bindingCookieName(state),
		Value:    value,
		Path:     cookiePath(redirectURI),
		MaxAge:   int(PendingLifetime.Seconds()),
		HttpOnly: true,
		Secure:   secureCookies(redirectURI),
		SameSite: http.SameSiteLaxMode,
	}
	return c.String()
}

// clearBindingCookie returns the Set-Cookie value that removes a flow's
// cookie once the flow is over.
func clearBindingCookie(redirectURI, state string) string {
	c := &http.Cookie{
		Name:     bindingCookieName(state),
		Value:    "",
		Path:     cookiePath(redirectURI),
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   secureCookies(redirectURI),
		SameSite: http.SameSiteLaxMode,
	}
	return c.String()
}

func cookiePath(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

func secureCookies(redirectURI string) bool {
	u, err := url.Parse(redirectURI)
	return err != nil || !(u.Scheme == "http" && config.IsLoopbackHost(u.Hostname()))
}

// requestCookie finds a cookie of the request. Behind an HTTP API (payload
// 2.0) cookies arrive in the event's cookies field; a Cookie header is read
// too, for other front ends.
func requestCookie(req Request, name string) (string, bool) {
	lines := append([]string{}, req.Cookies...)
	for k, v := range req.Headers {
		if strings.EqualFold(k, "cookie") {
			lines = append(lines, v)
		}
	}
	for _, line := range lines {
		cookies, err := http.ParseCookie(line)
		if err != nil {
			// Parse what can be parsed one by one.
			for _, part := range strings.Split(line, ";") {
				if c, err := http.ParseCookie(strings.TrimSpace(part)); err == nil {
					cookies = append(cookies, c...)
				}
			}
		}
		for _, c := range cookies {
			if c.Name == name {
				return c.Value, true
			}
		}
	}
	return "", false
}
