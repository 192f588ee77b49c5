package gototest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint paths, relative to Server.URL.
const (
	// AuthorizePath is the authorization endpoint (consent page and form).
	AuthorizePath = "/oauth/authorize"
	// TokenPath is the token endpoint.
	TokenPath = "/oauth/token"
	// MePath is GoTo's Admin API "get me", which proves an access token works.
	MePath = "/admin/rest/v1/me"
	// LegacyAuthorizePath is the legacy host's authorization path, served
	// like AuthorizePath.
	LegacyAuthorizePath = "/oauth/v2/authorize"
	// LegacyTokenPath is the legacy host's token path, served like TokenPath.
	LegacyTokenPath = "/oauth/v2/token"
)

// Server is a GoTo-compatible OAuth authorization server. Create one with
// NewServer or NewUnstartedServer; the zero value is not usable. Its methods
// are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, without a trailing slash, for
	// example "http://127.0.0.1:40123". Start and SetURL set it; it is empty
	// until then.
	URL string

	// ClientID and ClientSecret are the credentials of the only client the
	// server knows (see WithClient). Do not change them once the server
	// handles requests.
	ClientID, ClientSecret string

	// Listener is the listener Start serves on. Set it on an unstarted
	// server to choose it; Start uses a 127.0.0.1 listener on a random port
	// when it is nil.
	Listener net.Listener

	// configuration, fixed once constructed
	redirectURIs    []string
	style           Style
	rotation        Rotation
	accessLifetime  time.Duration
	refreshLifetime time.Duration
	codeLifetime    time.Duration
	now             func() time.Time
	identity        Identity
	delay           time.Duration
	expiresInString bool
	defaultScope    string

	handler   http.Handler
	ts        *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex // guards everything below, and URL after SetURL
	codes    map[string]*codeGrant
	access   map[string]*accessGrant
	refresh  map[string]*refreshGrant
	failures failureQueue
	stats    counters
	spent    spentTokens
}

// NewServer starts and returns a server listening on 127.0.0.1 on a random
// port, like httptest.NewServer. Call Close when done.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a server that is not listening yet. Either set
// Listener (optionally) and call Start, or serve Handler on a listener of
// your own and call SetURL with the base URL it is reachable at.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{
		ClientID:        DefaultClientID,
		ClientSecret:    DefaultClientSecret,
		style:           StyleCurrent,
		rotation:        RotationKeep(),
		accessLifetime:  DefaultAccessTokenLifetime,
		refreshLifetime: DefaultRefreshTokenLifetime,
		codeLifetime:    DefaultCodeLifetime,
		now:             time.Now,
		identity:        DefaultIdentity(),
		defaultScope:    DefaultScope,
		done:            make(chan struct{}),
		codes:           make(map[string]*codeGrant),
		access:          make(map[string]*accessGrant),
		refresh:         make(map[string]*refreshGrant),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.handler = s.routes()
	return s
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{AuthorizePath, LegacyAuthorizePath} {
		mux.HandleFunc("GET "+p, s.handleAuthorizeGet)
		mux.HandleFunc("POST "+p, s.handleAuthorizePost)
	}
	for _, p := range []string{TokenPath, LegacyTokenPath} {
		mux.HandleFunc("POST "+p, s.handleToken)
	}
	mux.HandleFunc("GET "+MePath, s.handleMe)
	mux.HandleFunc("POST "+RevokePath, s.handleRevoke)
	return mux
}

// Start starts serving on Listener (a new 127.0.0.1 listener when nil) and
// sets URL. It panics if the server was already started.
func (s *Server) Start() {
	if s.ts != nil {
		panic("gototest: Server already started")
	}
	ts := httptest.NewUnstartedServer(s.handler)
	if s.Listener != nil {
		ts.Listener.Close()
		ts.Listener = s.Listener
	}
	ts.Start()
	s.ts = ts
	s.Listener = ts.Listener
	s.SetURL(ts.URL)
}

// Handler returns the server's HTTP handler, for mounting on a listener of
// your own. It serves the paths AuthorizePath, TokenPath, MePath, RevokePath,
// LegacyAuthorizePath and LegacyTokenPath; it also works behind
// http.StripPrefix. Call SetURL so that AuthorizeURL, TokenURL, MeURL, RevokeURL,
// Approve and Deny know where it is reachable.
func (s *Server) Handler() http.Handler { return s.handler }

// SetURL sets URL to base (a trailing slash is dropped). Start calls it; call
// it yourself when serving Handler on your own listener, before the server is
// used.
func (s *Server) SetURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.URL = strings.TrimRight(base, "/")
}

// Close stops the server, if it was started, and waits for the requests in
// flight to finish; delayed or slow requests stop waiting at once. State
// (ValidAccessToken, counters, ...) can still be read afterwards. Close is
// idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

func (s *Server) base() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.URL
}

// AuthorizeURL returns URL + "/oauth/authorize".
func (s *Server) AuthorizeURL() string { return s.base() + AuthorizePath }

// TokenURL returns URL + "/oauth/token".
func (s *Server) TokenURL() string { return s.base() + TokenPath }

// MeURL returns URL + "/admin/rest/v1/me".
func (s *Server) MeURL() string { return s.base() + MePath }

// LegacyAuthorizeURL returns URL + "/oauth/v2/authorize", the legacy host's
// path, served like AuthorizeURL.
func (s *Server) LegacyAuthorizeURL() string { return s.base() + LegacyAuthorizePath }

// LegacyTokenURL returns URL + "/oauth/v2/token", the legacy host's path,
// served like TokenURL.
func (s *Server) LegacyTokenURL() string { return s.base() + LegacyTokenPath }

// wait sleeps for d, or until ctx is done or the server is closed.
func (s *Server) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
	}
}
