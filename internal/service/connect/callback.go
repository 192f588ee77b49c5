package connect

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Callback handles GET /callback, the redirect URI registered at GoTo. The
// state must exist, be unexpired, unused and match this browser's binding
// cookie; it is consumed atomically, so of two callbacks with one state at
// most one goes on. The code is then exchanged exactly once and the
// connection stored. The browser goes back to return_to with
// status=connected or status=error&error=<code>, or sees a result page.
func (a *App) Callback(ctx context.Context, req Request) (resp Response, err error) {
	o := &outcome{route: "callback"}
	defer func() { o.end(a.Metrics, resp.StatusCode) }()
	log := a.logger().With("route", "GET /callback", "request_id", req.RequestContext.RequestID)
	query, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		o.reason = "malformed query"
		log.Info("refused", "status", 400, "reason", "malformed query")
		return page(http.StatusBadRequest, "Invalid request", "The query string is malformed."), nil
	}
	state := query.Get("state")
	switch {
	case len(query["state"]) > 1:
		o.reason = "state given more than once"
		log.Info("refused", "status", 400, "reason", "state given more than once")
		return page(http.StatusBadRequest, "Invalid request", "The state parameter is given more than once. Start connecting again from the app."), nil
	case state == "":
		o.reason = "missing state"
		log.Info("refused", "status", 400, "reason", "missing state")
		return page(http.StatusBadRequest, "Invalid request", "The state parameter is missing. Start connecting again from the app."), nil
	}
	binding, ok := requestCookie(req, bindingCookieName(state))
	if !ok {
		o.reason = "no binding cookie"
		log.Info("refused", "status", 400, "reason", "no binding cookie")
		return page(http.StatusBadRequest, "Connection could not be finished",
			"This sign-in was not started in this browser, or took longer than 10 minutes. Start connecting again from the app."), nil
	}

	// Secrets first: if they are unavailable, the state is left unused.
	sec, store, client, err := a.deps(ctx)
	if err != nil {
		log.Error("secrets unavailable", "error", err)
		return unavailable(), nil
	}

	pending, err := a.pendingStore(sec).consume(ctx, state, binding)
	switch {
	case errors.Is(err, errStateBinding):
		o.reason = "binding cookie does not match"
		log.Warn("refused", "status", 403, "reason", "binding cookie does not match")
		return page(http.StatusForbidden, "Connection could not be finished",
			"This sign-in was started in another browser. Start connecting again from the app."), nil
	case errors.Is(err, errStateExpired):
		o.reason = "state expired"
		log.Info("refused", "status", 400, "reason", "state expired")
		return page(http.StatusBadRequest, "Connection could not be finished",
			"The sign-in took longer than 10 minutes. Start connecting again from the app.", clearBindingCookie(a.Config.RedirectURI, state)), nil
	case errors.Is(err, errStateUnknown):
		o.reason = "unknown or used state"
		log.Info("refused", "status", 400, "reason", "unknown or used state")
		return page(http.StatusBadRequest, "Connection could not be finished",
			"This sign-in has already been used or is unknown. Start connecting again from the app.", clearBindingCookie(a.Config.RedirectURI, state)), nil
	case err != nil:
		log.Error("consuming pending authorization failed", "error", err)
		return unavailable(), nil
	}
	log = log.With("connection_id", pending.ConnectionID)
	done := func(status int, errCode, title, message string) Response {
		o.code = errCode
		clear := clearBindingCookie(a.Config.RedirectURI, state)
		if pending.ReturnTo == "" {
			return page(status, title, message, clear)
		}
		params := url.Values{"connection_id": {pending.ConnectionID}}
		if errCode == "" {
			params.Set("status", "connected")
		} else {
			params.Set("status", "error")
			params.Set("error", errCode)
		}
		return redirect(withQuery(pending.ReturnTo, params), clear)
	}

	if e := query.Get("error"); e != "" {
		code := oauth.SafeCode(e)
		log.Info("provider returned an error", "error_code", code)
		if code == "access_denied" {
			return done(http.StatusOK, code, "Not connected", "You declined access to your GoTo account. Nothing was connected."), nil
		}
		// What the browser relays is input, whatever GoTo meant by it: a 4xx,
		// so that nobody can raise the API's 5xx rate with a crafted URL.
		return done(http.StatusBadRequest, code, "Not connected", "GoTo refused the authorization ("+code+"). Nothing was connected."), nil
	}
	code := query.Get("code")
	if code == "" {
		o.reason = "no code and no error"
		log.Info("refused", "status", 400, "reason", "no code and no error")
		return done(http.StatusBadRequest, "invalid_request", "Not connected", "GoTo sent neither a code nor an error. Start connecting again from the app."), nil
	}

	// Exactly one exchange: a code works once and is never sent again,
	// except after invalid_client, which GoTo answers before it looks at
	// the code: once, with a client secret rotated meanwhile.
	var tok *gotoauth.Token
	o.timeProvider(func() { tok, err = client.Exchange(ctx, code, pending.CodeVerifier) })
	if isInvalidClient(err) {
		if secret, ok := a.rotatedClientSecret(ctx, client.ClientSecret); ok {
			log.Warn("GoTo refused the client secret; retrying once with the rotated one")
			client.ClientSecret = secret
			o.timeProvider(func() { tok, err = client.Exchange(ctx, code, pending.CodeVerifier) })
		}
	}
	if err != nil {
		errCode := gotoauth.ErrorCode(err)
		class := gotoauth.Classify(err)
		log.Error("code exchange failed", "error_code", errCode, "class", class.String(), "error", err)
		status := http.StatusBadGateway // GoTo's failure or ours
		if class == gotoauth.Permanent {
			status = http.StatusBadRequest // the code was refused
		}
		return done(status, errCode, "Not connected", "GoTo did not complete the connection ("+errCode+"). Start connecting again from the app."), nil
	}
	conn, err := store.SaveConnection(ctx, pending.ConnectionID, tok)
	if errors.Is(err, gotoauth.ErrNoRefreshToken) {
		log.Error("GoTo sent no refresh token; the connection is not stored")
		return done(http.StatusBadGateway, "no_refresh_token", "Not connected", "GoTo did not grant lasting access. Start connecting again from the app."), nil
	}
	if err != nil {
		log.Error("storing the connection failed", "error", err)
		return done(http.StatusServiceUnavailable, "storage_failed", "Not connected", "The connection could not be saved. Please start connecting again."), nil
	}
	log.Info("connected", "status", 302, "revision", conn.Revision)
	platform.Publish(ctx, a.Events, log, conn.Event(gotoauth.EventConnected, "", a.now()))
	account := conn.Account()
	msg := "Your GoTo account is connected. You can close this window."
	if account != "" {
		msg = "Connected GoTo account " + account + ". You can close this window."
	}
	return done(http.StatusOK, "", "GoTo account connected", msg), nil
}
