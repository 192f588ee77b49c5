package gototest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ErrBadAuthorizeRequest is wrapped by the errors Approve and Deny return
// for an authorization request the server refuses with an error page rather
// than a redirect: an unknown client_id, a missing or unregistered
// redirect_uri, a response_type other than "code", or (for the HTTP form) a
// decision other than "allow" or "deny".
var ErrBadAuthorizeRequest = errors.New("gototest: bad authorization request")

// badAuthzRequest is an authorization request that gets a 400 page.
type badAuthzRequest struct{ reason string }

func (e *badAuthzRequest) Error() string { return ErrBadAuthorizeRequest.Error() + ": " + e.reason }
func (e *badAuthzRequest) Unwrap() error { return ErrBadAuthorizeRequest }

// authzParams are the parameters of an authorization request the consent
// form carries, in the order it carries them.
var authzParams = []string{
	"client_id", "response_type", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method",
}

// authzRequest is a validated authorization request.
type authzRequest struct {
	clientID    string
	redirectURI string
	scope       string
	state       string
	hasState    bool
	challenge   string
	carried     []hiddenField
}

type hiddenField struct{ Name, Value string }

// parseAuthorize validates an authorization request. It returns a
// *badAuthzRequest error when the request must get an error page. Otherwise
// it returns the request and, when the request is invalid but may safely be
// redirected, the error redirect.
func (s *Server) parseAuthorize(q url.Values) (*authzRequest, *url.URL, error) {
	for _, k := range []string{"client_id", "redirect_uri", "response_type"} {
		if len(q[k]) > 1 {
			return nil, nil, &badAuthzRequest{k + " is repeated"}
		}
	}
	ar := &authzRequest{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		scope:       q.Get("scope"),
		state:       q.Get("state"),
		hasState:    q.Has("state"),
		challenge:   q.Get("code_challenge"),
	}
	switch {
	case ar.clientID == "":
		return nil, nil, &badAuthzRequest{"client_id is missing"}
	case ar.clientID != s.ClientID:
		return nil, nil, &badAuthzRequest{"unknown client_id"}
	}
	if err := s.checkRedirectURI(ar.redirectURI); err != nil {
		return nil, nil, err
	}
	if rt := q.Get("response_type"); rt != "code" {
		return nil, nil, &badAuthzRequest{fmt.Sprintf("unsupported response_type %q (want \"code\")", rt)}
	}
	for _, k := range authzParams {
		for _, v := range q[k] {
			ar.carried = append(ar.carried, hiddenField{k, v})
		}
	}
	for _, k := range []string{"scope", "state", "code_challenge", "code_challenge_method"} {
		if len(q[k]) > 1 {
			return ar, ar.errorRedirect("invalid_request", k+" is repeated."), nil
		}
	}
	if desc := checkChallenge(ar.challenge, q.Get("code_challenge_method"), q.Has("code_challenge_method")); desc != "" {
		return ar, ar.errorRedirect("invalid_request", desc), nil
	}
	return ar, nil, nil
}

// checkRedirectURI accepts a registered URI, or, when none is registered,
// any absolute http(s) URI without a fragment.
func (s *Server) checkRedirectURI(uri string) error {
	if uri == "" {
		return &badAuthzRequest{"redirect_uri is missing"}
	}
	if len(s.redirectURIs) > 0 && !slices.Contains(s.redirectURIs, uri) {
		return &badAuthzRequest{"redirect_uri is not registered for this client"}
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return &badAuthzRequest{"redirect_uri is not a valid URI"}
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return &badAuthzRequest{"redirect_uri must be an absolute http or https URI"}
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return &badAuthzRequest{"redirect_uri must not contain a fragment"}
	}
	return nil
}

// checkChallenge validates the PKCE parameters; it returns an error
// description, or "" when they are acceptable. Only S256 is supported, as in
// GoTo's authorization-server metadata.
func checkChallenge(challenge, method string, hasMethod bool) string {
	switch {
	case challenge == "" && hasMethod:
		return "code_challenge_method was sent without code_challenge."
	case challenge == "":
		return ""
	case method == "" || method == "plain":
		return "code_challenge_method must be S256; plain is not supported."
	case method != "S256":
		return fmt.Sprintf("Unsupported code_challenge_method %q; only S256 is supported.", method)
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil || len(b) != 32 {
		return "code_challenge must be the unpadded base64url encoding of a SHA-256 digest (43 characters)."
	}
	return ""
}

// redirect returns the redirect URI with params and state appended to its
// query, keeping the query it already had byte for byte.
func (ar *authzRequest) redirect(params url.Values) *url.URL {
	u, _ := url.Parse(ar.redirectURI) // validated by parseAuthorize
	if ar.hasState {
		params.Set("state", ar.state)
	}
	if u.RawQuery == "" {
		u.RawQuery = params.Encode()
	} else {
		u.RawQuery += "&" + params.Encode()
	}
	return u
}

func (ar *authzRequest) errorRedirect(code, description string) *url.URL {
	return ar.redirect(url.Values{"error": {code}, "error_description": {description}})
}

// decide validates q and applies the user's decision, returning the redirect
// the browser would follow. This is the single code path behind the consent
// form, Approve and Deny.
func (s *Server) decide(q url.Values, decision string) (*url.URL, error) {
	ar, redirect, err := s.parseAuthorize(q)
	if err != nil {
		return nil, err
	}
	if redirect != nil {
		return redirect, nil
	}
	switch decision {
	case "allow":
		return ar.redirect(url.Values{"code": {s.issueCode(ar)}}), nil
	case "deny":
		return ar.errorRedirect("access_denied", "The user denied the authorization request."), nil
	default:
		return nil, &badAuthzRequest{`decision must be "allow" or "deny"`}
	}
}

// Approve acts as the user clicking Allow on the consent page of
// authorizeURL, an authorization URL pointing at this server. It validates
// the request as GET /oauth/authorize does and returns the URL the browser
// would be redirected to: redirect_uri with code and state, or with an error
// for a request that is redirected with one (an unsupported
// code_challenge_method, for instance). Requests that get an error page
// instead return an error wrapping ErrBadAuthorizeRequest.
func (s *Server) Approve(authorizeURL string) (*url.URL, error) {
	return s.consent(authorizeURL, "allow")
}

// Deny acts as the user clicking Deny on the consent page of authorizeURL;
// it returns redirect_uri with error=access_denied (and state), and
// otherwise behaves as Approve.
func (s *Server) Deny(authorizeURL string) (*url.URL, error) {
	return s.consent(authorizeURL, "deny")
}

func (s *Server) consent(authorizeURL, decision string) (*url.URL, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return nil, fmt.Errorf("gototest: parsing authorization URL: %w", err)
	}
	if err := s.checkAuthorizeEndpoint(u); err != nil {
		return nil, err
	}
	return s.decide(u.Query(), decision)
}

// checkAuthorizeEndpoint checks that u points at this server's authorization
// endpoint (either path). Without a URL, only the path is checked.
func (s *Server) checkAuthorizeEndpoint(u *url.URL) error {
	prefix := ""
	if base := s.base(); base != "" {
		b, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("gototest: server URL %q: %w", base, err)
		}
		if !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) {
			return fmt.Errorf("gototest: %s://%s%s is not this server's authorization endpoint %s",
				u.Scheme, u.Host, u.Path, base+AuthorizePath)
		}
		prefix = b.Path
	}
	if u.Path == prefix+AuthorizePath || u.Path == prefix+LegacyAuthorizePath ||
		(prefix == "" && (strings.HasSuffix(u.Path, AuthorizePath) || strings.HasSuffix(u.Path, LegacyAuthorizePath))) {
		return nil
	}
	return fmt.Errorf("gototest: path %q is not an authorization endpoint (want %s)", u.Path, prefix+AuthorizePath)
}

// handleAuthorizeGet serves the consent page.
func (s *Server) handleAuthorizeGet(w http.ResponseWriter, r *http.Request) {
	ar, redirect, err := s.parseAuthorize(r.URL.Query())
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, err)
		return
	}
	if redirect != nil {
		http.Redirect(w, r, redirect.String(), http.StatusFound)
		return
	}
	scope := ar.scope
	if scope == "" {
		scope = s.defaultScope
	}
	writeConsentPage(w, consentPage{
		ClientID: ar.clientID,
		Identity: s.identity,
		Scope:    scope,
		Redirect: ar.redirectURI,
		Action:   formAction(r),
		Hidden:   ar.carried,
	})
}

// handleAuthorizePost applies the decision posted by the consent form.
func (s *Server) handleAuthorizePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, http.StatusBadRequest, &badAuthzRequest{"the form could not be parsed"})
		return
	}
	redirect, err := s.decide(r.PostForm, r.PostForm.Get("decision"))
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, err)
		return
	}
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// formAction is the path the consent page was requested at, as the client
// sent it (so that it survives http.StripPrefix).
func formAction(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return r.URL.Path
}
