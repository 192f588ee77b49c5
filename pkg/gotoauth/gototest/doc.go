// Package gototest provides a GoTo-compatible OAuth 2.0 authorization server
// for tests and local runs, in the spirit of net/http/httptest.
//
// It imitates the provider behind GoToWebinar, GoToMeeting and GoToConnect
// (authentication.logmeininc.com, formerly api.getgo.com/oauth/v2) closely
// enough to exercise a real client: the consent screen, single-use
// authorization codes with PKCE (S256), client authentication with the raw
// HTTP Basic header that GoTo documents, both token response shapes, the
// refresh-token rotation policies GoTo's pages disagree about, and an API
// endpoint that proves an access token works. It depends on the standard
// library only.
//
// # Starting a server
//
//	srv := gototest.NewServer(gototest.WithRedirectURIs("https://app.example/callback"))
//	defer srv.Close()
//
// The server listens on 127.0.0.1 on a random port. Its client is
// srv.ClientID / srv.ClientSecret (see WithClient; the default secret
// contains '+', '/' and '=' on purpose). NewUnstartedServer returns a server
// that is not listening yet: set Server.Listener and call Start, or mount
// Server.Handler on a listener of your own and call SetURL with the base URL
// it is reachable at (the handler itself does not need the URL; AuthorizeURL,
// TokenURL, MeURL, Approve and Deny do).
//
// # Endpoints
//
//   - GET /oauth/authorize shows a consent page whose form POSTs to the same
//     path with a decision of "allow" or "deny". A request with an unknown
//     client_id, a missing or unregistered redirect_uri, or a response_type
//     other than "code" gets a 400 HTML page and is never redirected.
//     Other errors (a code_challenge_method other than S256, for instance)
//     are redirected to redirect_uri with error=invalid_request.
//   - POST /oauth/token accepts grant_type=authorization_code and
//     grant_type=refresh_token, authenticated with
//     "Authorization: Basic base64(clientID:clientSecret)" of the raw values:
//     a client that form-encodes them first gets 401 invalid_client. A
//     request that fails client authentication consumes nothing; any other
//     exchange attempt burns its code, successful or not. Every answer is
//     JSON.
//   - GET /admin/rest/v1/me answers 200 with the user's identity for a valid
//     "Authorization: Bearer" access token, and 403
//     {"int_err_code":"InvalidToken",...} otherwise.
//
// The legacy paths /oauth/v2/authorize and /oauth/v2/token are served too, by
// the same handlers (see LegacyAuthorizeURL and LegacyTokenURL).
//
// # Consent without a browser
//
// Approve and Deny take the authorization URL a client built, validate it
// exactly as GET /oauth/authorize does, and return the URL the browser would
// have been redirected to. With curl:
//
//	curl -s "$AUTHORIZE_URL"     # the page lists the hidden fields
//	curl -s -D- -d decision=allow -d client_id=... -d response_type=code \
//	     -d redirect_uri=... -d state=... "$URL/oauth/authorize"
//
// # Failure injection
//
// FailNext, FailAlways and StopFailing make the token endpoint answer with a
// Failure (an OAuth error, a 5xx, an HTML page, an empty or truncated body, a
// 429, the decommissioned legacy host's answer) instead of the real thing. An
// injected failure is decided before the request reaches the real logic: it
// does not consume the authorization code or refresh token it carried, so the
// same request can succeed afterwards. Slow is the exception: it only delays
// the request, which is then processed normally, even if the client gave up
// waiting in the meantime, as a real provider would. WithDelay behaves the
// same way for every token request.
//
// # Seeding tokens issued elsewhere
//
// AddGrant makes the server accept a refresh token (and optionally an
// access token) it did not issue, as if a user had consented: tests of code
// that imports connections made by another integration seed the tokens they
// import, and the server then refreshes, rotates and expires them like its
// own.
//
// # Observing
//
// TokenRequests, ExchangeRequests, RefreshRequests, InvalidGrants, RefreshTokenReuses,
// ValidAccessToken and ValidRefreshToken let a test assert what the client
// did. They, and every other method, are safe for concurrent use. Close waits
// for requests in flight, so state read after Close is final.
//
// The server never logs tokens, codes or secrets.
package gototest
