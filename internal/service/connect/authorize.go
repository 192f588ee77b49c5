package connect

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Authorize handles GET /authorize: it checks the signed connect link,
// stores a pending authorization and redirects the browser to GoTo's
// consent page, with a cookie that binds the flow to this browser.
//
// Bad input gets 400 and a bad or expired signature 403, each with a short
// page; nothing is stored then. It never returns an error: failures of its
// own (secrets, DynamoDB) are a 503 page.
func (a *App) Authorize(ctx context.Context, req Request) (resp Response, err error) {
	o := &outcome{route: "authorize"}
	defer func() { o.end(a.Metrics, resp.StatusCode) }()
	log := a.logger().With("route", "GET /authorize", "request_id", req.RequestContext.RequestID)
	query, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		o.reason = "malformed query"
		log.Info("refused", "status", 400, "reason", "malformed query")
		return page(http.StatusBadRequest, "Invalid connect link", "The link's query string is malformed. Ask the app for a new link."), nil
	}

	sec, client, err := a.authorizeDeps(ctx)
	if err != nil {
		log.Error("secrets unavailable", "error", err)
		return unavailable(), nil
	}

	link, err := verifyLink(query, sec.LinkKeys(a.now()), a.now())
	switch {
	case errors.Is(err, gotoauth.ErrLinkMalformed):
		o.reason = "malformed link"
		log.Info("refused", "status", 400, "reason", err.Error())
		return page(http.StatusBadRequest, "Invalid connect link", strings.TrimPrefix(err.Error(), "gotoauth: ")+". Ask the app for a new link."), nil
	case errors.Is(err, gotoauth.ErrLinkExpired):
		o.reason = "link expired"
		log.Info("refused", "status", 403, "reason", "link expired", "connection_id", query.Get("connection_id"))
		return page(http.StatusForbidden, "This connect link has expired", "Go back to the app and start connecting again."), nil
	case err != nil:
		o.reason = "bad signature"
		log.Warn("refused", "status", 403, "reason", "bad signature", "connection_id", query.Get("connection_id"))
		return page(http.StatusForbidden, "Invalid connect link", "The link's signature does not match. Ask the app for a new link."), nil
	}
	if link.ReturnTo != "" && !a.Config.ReturnToAllowed(link.ReturnTo) {
		o.reason = "return_to origin not allowed"
		log.Warn("refused", "status", 400, "reason", "return_to origin not allowed", "connection_id", link.ConnectionID)
		return page(http.StatusBadRequest, "Invalid connect link", "return_to is not on an allowed origin (ALLOWED_RETURN_ORIGINS)."), nil
	}

	if names := reservedParams(link.ReturnTo); len(names) > 0 {
		o.reason = "return_to carries the connector's own parameters"
		log.Warn("refused", "status", 400, "reason", "return_to carries the connector's own parameters", "connection_id", link.ConnectionID)
		return page(http.StatusBadRequest, "Invalid connect link",
			"return_to must not carry its own "+strings.Join(names, ", ")+" parameter: the connector adds those when the flow ends."), nil
	}

	binding := oauth.GenerateState()
	p := pending{
		ConnectionID: link.ConnectionID,
		ReturnTo:     link.ReturnTo,
		BindingHash:  hashHex(binding),
		ExpiresAt:    a.now().Add(PendingLifetime),
	}
	var opts []oauth.AuthCodeOption
	if a.Config.PKCE {
		p.CodeVerifier = oauth.GenerateVerifier()
		opts = append(opts, oauth.S256ChallengeOption(p.CodeVerifier))
	}
	p, err = a.pendingStore(sec).put(ctx, linkID(link), p)
	if errors.Is(err, errTooManyPending) {
		o.reason = "too many authorizations in progress for this link"
		log.Warn("refused", "status", 429, "reason", "too many authorizations in progress for this link", "connection_id", link.ConnectionID)
		return page(http.StatusTooManyRequests, "This connect link is busy",
			"This link has been opened too many times in the last 10 minutes. Finish connecting in the window you already opened, or ask the app for a new link."), nil
	}
	if err != nil {
		log.Error("storing pending authorization failed", "error", err, "connection_id", link.ConnectionID)
		return unavailable(), nil
	}
	log.Info("redirected to GoTo", "status", 302, "connection_id", link.ConnectionID, "pkce", a.Config.PKCE)
	return redirect(client.AuthCodeURL(p.State, opts...), bindingCookie(a.Config.RedirectURI, p.State, binding)), nil
}

// verifyLink checks a connect link against each key in turn (the current
// link signing key, then the previous one during its grace period).
func verifyLink(query url.Values, keys [][]byte, now time.Time) (gotoauth.Link, error) {
	var err error
	for _, key := range keys {
		var link gotoauth.Link
		if link, err = gotoauth.VerifyLink(query, key, now); !errors.Is(err, gotoauth.ErrLinkSignature) {
			return link, err
		}
	}
	return gotoauth.Link{}, err
}

func unavailable() Response {
	return page(http.StatusServiceUnavailable, "Temporarily unavailable", "Connecting is not possible right now. Please try again in a minute.")
}

// reservedParams returns the names among connection_id, error and status
// that returnTo's query already carries. The connector adds these when it
// sends the browser back, and they must be the only ones of their names,
// or a return_to of ...?error=x would end as ...?error=x&status=connected.
// The query is read as leniently as any app might read it: ';' separates
// too, names are unescaped and compared without case.
func reservedParams(returnTo string) []string {
	u, err := url.Parse(returnTo)
	if err != nil {
		return nil
	}
	present := map[string]bool{}
	for _, pair := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		present[strings.ToLower(strings.TrimSpace(name))] = true
	}
	var names []string
	for _, name := range []string{"connection_id", "error", "status"} {
		if present[name] {
			names = append(names, name)
		}
	}
	return names
}
