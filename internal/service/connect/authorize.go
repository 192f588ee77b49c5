package connect

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Authorize handles GET /authorize: it checks the signed connect link,
// stores a pending authorization and redirects the browser to GoTo's
// consent page, with a cookie that binds the flow to this browser.
//
// Bad input gets 400 and a bad or expired signature 403, each with a short
// page; nothing is stored then. It never returns an error: failures of its
// own (secrets, DynamoDB) are a 503 page.
func (a *App) Authorize(ctx context.Context, req Request) (Response, error) {
	log := a.logger().With("route", "GET /authorize", "request_id", req.RequestContext.RequestID)
	query, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		log.Info("refused", "status", 400, "reason", "malformed query")
		return page(http.StatusBadRequest, "Invalid connect link", "The link's query string is malformed. Ask the app for a new link."), nil
	}

	sec, store, client, err := a.deps(ctx)
	if err != nil {
		log.Error("secrets unavailable", "error", err)
		return unavailable(), nil
	}

	link, err := gotoauth.VerifyLink(query, sec.LinkSigningKey, a.now())
	switch {
	case errors.Is(err, gotoauth.ErrLinkMalformed):
		log.Info("refused", "status", 400, "reason", err.Error())
		return page(http.StatusBadRequest, "Invalid connect link", strings.TrimPrefix(err.Error(), "gotoauth: ")+". Ask the app for a new link."), nil
	case errors.Is(err, gotoauth.ErrLinkExpired):
		log.Info("refused", "status", 403, "reason", "link expired", "connection_id", query.Get("connection_id"))
		return page(http.StatusForbidden, "This connect link has expired", "Go back to the app and start connecting again."), nil
	case err != nil:
		log.Warn("refused", "status", 403, "reason", "bad signature", "connection_id", query.Get("connection_id"))
		return page(http.StatusForbidden, "Invalid connect link", "The link's signature does not match. Ask the app for a new link."), nil
	}
	if link.ReturnTo != "" && !a.Config.ReturnToAllowed(link.ReturnTo) {
		log.Warn("refused", "status", 400, "reason", "return_to origin not allowed", "connection_id", link.ConnectionID)
		return page(http.StatusBadRequest, "Invalid connect link", "return_to is not on an allowed origin (ALLOWED_RETURN_ORIGINS)."), nil
	}

	state := gotoauth.GenerateState()
	binding := gotoauth.GenerateState()
	pending := gotoauth.Pending{
		State:        state,
		ConnectionID: link.ConnectionID,
		ReturnTo:     link.ReturnTo,
		BindingHash:  gotoauth.HashBinding(binding),
		ExpiresAt:    a.now().Add(gotoauth.PendingLifetime),
	}
	var opts []gotoauth.AuthCodeOption
	if a.Config.PKCE {
		pending.CodeVerifier = gotoauth.GenerateVerifier()
		opts = append(opts, gotoauth.S256ChallengeOption(pending.CodeVerifier))
	}
	if err := store.PutPending(ctx, pending); err != nil {
		log.Error("storing pending authorization failed", "error", err, "connection_id", link.ConnectionID)
		return unavailable(), nil
	}
	log.Info("redirected to GoTo", "status", 302, "connection_id", link.ConnectionID, "pkce", a.Config.PKCE)
	return redirect(client.AuthCodeURL(state, opts...), bindingCookie(a.Config.RedirectURI, state, binding)), nil
}

func unavailable() Response {
	return page(http.StatusServiceUnavailable, "Temporarily unavailable", "Connecting is not possible right now. Please try again in a minute.")
}
