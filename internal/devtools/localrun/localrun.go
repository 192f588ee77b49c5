// Package localrun is the product running on one machine: DynamoDB Local
// with the table from template.yaml, a GoTo-compatible authorization server
// (gototest, or the real GoTo when credentials are given), the real
// authorize and callback handlers behind an API Gateway-like HTTP server,
// the refresh sweep on a timer, the Connections API (without IAM) and a
// small demo "SaaS" page to start from. Lifecycle events are logged.
// `make run` (cmd/local) starts it; the browser test drives it.
package localrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/devtools/apigw"
	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// Embedded defaults of a local run.
const (
	DefaultPort    = "8080"
	DefaultTable   = "goto-connector-local"
	DefaultLinkKey = "local-development-link-signing-key"
	// DemoConnectionID is the connection id of the printed link.
	DemoConnectionID = "demo-customer"
)

// Options configure a local run. Zero values are the embedded defaults.
type Options struct {
	// Port of the local connector on localhost (PORT, default 8080); "0"
	// picks a free one.
	Port string
	// Getenv reads GOTO_* overrides (os.Getenv for make run). With
	// GOTO_CLIENT_ID and GOTO_CLIENT_SECRET set, the real GoTo is used.
	Getenv func(string) string
	// GoToOptions configure the local gototest server.
	GoToOptions []gototest.Option
	// SweepEvery runs the refresh sweep on a timer; zero means every
	// minute, negative never.
	SweepEvery time.Duration
	Logger     *slog.Logger
}

// Stack is a running local connector.
type Stack struct {
	// BaseURL is the connector's URL, http://localhost:PORT.
	BaseURL string
	// GoTo is the local authorization server, nil when talking to GoTo.
	GoTo   *gototest.Server
	Config *config.Config
	DB     *dynamodb.Client
	// LinkKey signs connect links.
	LinkKey []byte
	App     *connect.App
	// Connections serves the Connections API (without IAM: loopback only).
	Connections *connections.App
	// Store is the connection store, its tokens sealed under local-kms.
	Store *gotoauth.Store

	ddb    *devenv.DynamoDB
	kms    *devenv.KMS
	server *http.Server
	sweep  *refresh.Sweeper
	stop   context.CancelFunc
	done   chan struct{}
}

// Start starts everything and returns once the connector answers.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Stack{done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	port := opts.Port
	if port == "" {
		port = DefaultPort
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on port %s (%v): set PORT to a free port", port, err)
	}
	s.BaseURL = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	s.server = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srvLn := ln

	s.ddb, err = devenv.StartDynamoDB(ctx, devenv.DynamoDBOptions{UseEnvEndpoint: true})
	if err != nil {
		srvLn.Close()
		return nil, err
	}
	if s.DB, err = s.ddb.Client(ctx); err != nil {
		srvLn.Close()
		return nil, err
	}

	env := map[string]string{
		"GOTO_REDIRECT_URI":      s.BaseURL + "/callback",
		"TABLE_NAME":             DefaultTable,
		"GOTO_LINK_SIGNING_KEY":  DefaultLinkKey,
		"ALLOWED_RETURN_ORIGINS": s.BaseURL,
	}
	for _, k := range []string{"GOTO_CLIENT_ID", "GOTO_CLIENT_SECRET", "GOTO_LINK_SIGNING_KEY", "GOTO_AUTHORIZE_URL", "GOTO_TOKEN_URL",
		"GOTO_REVOKE_URL", "GOTO_REDIRECT_URI", "TABLE_NAME", "PKCE", "REFRESH_INTERVAL", "ACCESS_TOKEN_REFRESH_AHEAD", "REFRESH_TOKEN_LIFETIME", "REFRESH_RATE_LIMIT"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	if v := getenv("ALLOWED_RETURN_ORIGINS"); v != "" {
		env["ALLOWED_RETURN_ORIGINS"] += "," + v
	}
	if env["GOTO_CLIENT_ID"] == "" || env["GOTO_CLIENT_SECRET"] == "" {
		gopts := append([]gototest.Option{gototest.WithRedirectURIs(env["GOTO_REDIRECT_URI"])}, opts.GoToOptions...)
		s.GoTo = gototest.NewServer(gopts...)
		env["GOTO_CLIENT_ID"], env["GOTO_CLIENT_SECRET"] = s.GoTo.ClientID, s.GoTo.ClientSecret
		env["GOTO_AUTHORIZE_URL"], env["GOTO_TOKEN_URL"] = s.GoTo.AuthorizeURL(), s.GoTo.TokenURL()
		env["GOTO_REVOKE_URL"] = s.GoTo.RevokeURL()
	}
	if s.Config, err = config.Load(func(k string) string { return env[k] }); err != nil {
		srvLn.Close()
		return nil, err
	}
	if err := devenv.CreateTable(ctx, s.DB, s.Config.TableName); err != nil {
		srvLn.Close()
		return nil, err
	}
	// Tokens are encrypted under local-kms, as under the stack's key in
	// AWS: a newcomer sees the production path (enc:kms1 in the table).
	if s.kms, err = devenv.StartKMS(ctx); err != nil {
		srvLn.Close()
		return nil, err
	}
	kmsCipher, err := gotoauth.NewKMSCipher(s.kms.Client(), s.kms.KeyARN(), s.Config.TableName)
	if err != nil {
		srvLn.Close()
		return nil, err
	}
	sec, err := secrets.FromValues(env["GOTO_CLIENT_SECRET"], env["GOTO_LINK_SIGNING_KEY"])
	if err != nil {
		srvLn.Close()
		return nil, err
	}
	s.LinkKey = sec.S.LinkSigningKey
	// Lifecycle events go to the log: there is no EventBridge here.
	events := LogEvents(log)
	s.App = &connect.App{Config: s.Config, Secrets: sec, DB: s.DB, Logger: log, Events: events, KMS: kmsCipher}
	store, err := gotoauth.NewStore(s.DB, s.Config.TableName, gotoauth.WithSchedule(s.Config.Schedule), gotoauth.WithKMSCipher(kmsCipher))
	if err != nil {
		srvLn.Close()
		return nil, err
	}
	s.Store = store
	client := &gotoauth.Client{ClientID: s.Config.ClientID, ClientSecret: sec.S.ClientSecret, RedirectURL: s.Config.RedirectURI, Endpoint: s.Config.Endpoint}
	ts, err := gotoauth.NewTokenSource(store, client, gotoauth.WithRateLimit(s.Config.RefreshRateLimit), gotoauth.WithLogger(log),
		gotoauth.WithEvents(events), gotoauth.WithCacheSize(0))
	if err != nil {
		srvLn.Close()
		return nil, err
	}
	s.sweep = &refresh.Sweeper{Source: ts, Logger: log}
	s.Connections = &connections.App{Deps: connections.Static(store, ts), Events: s.App.Events, Logger: log}
	if s.Config.Endpoint.RevokeURL != "" {
		s.Connections.Revoke = client.Revoke // DELETE revokes at GoTo (gototest's RevokeURL by default)
	}

	s.server.Handler = s.routes()
	runCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() {
		defer close(s.done)
		if err := s.server.Serve(srvLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("local server stopped", "error", err)
		}
	}()
	every := opts.SweepEvery
	if every == 0 {
		every = time.Minute
	}
	if every > 0 {
		go s.sweepEvery(runCtx, every, log)
	}
	return s, nil
}

func (s *Stack) sweepEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// No deadline: a local process is not frozen, so every refresh
			// that starts finishes and stores GoTo's answer.
			sum, err := s.sweep.Sweep(ctx)
			if err != nil || sum.Due > 0 {
				log.Info("refresh sweep", "due", sum.Due, "refreshed", sum.Refreshed, "failed", sum.Failed,
					"reauth_required", sum.ReauthRequired, "skipped", sum.Skipped, "error", err)
			}
		}
	}
}

// Link mints a connect link that returns to the demo page.
func (s *Stack) Link(connectionID string, ttl time.Duration) (string, error) {
	return gotoauth.SignLink(s.BaseURL+"/authorize", s.LinkKey, gotoauth.Link{
		ConnectionID: connectionID,
		ReturnTo:     s.BaseURL + "/app/return",
		Expires:      time.Now().Add(ttl),
	})
}

// Close stops everything Start started.
func (s *Stack) Close() {
	if s.stop != nil {
		s.stop()
	}
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.server.Shutdown(ctx)
		cancel()
		if s.stop != nil {
			<-s.done
		}
	}
	if s.sweep != nil {
		// Refreshes under way store GoTo's answer before DynamoDB stops.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.sweep.Source.Drain(ctx)
		cancel()
	}
	if s.GoTo != nil {
		s.GoTo.Close()
	}
	if s.ddb != nil {
		s.ddb.Close()
	}
	if s.kms != nil {
		s.kms.Close()
	}
}

// UsesRealGoTo reports whether the stack talks to GoTo itself.
func (s *Stack) UsesRealGoTo() bool { return s.GoTo == nil }

func (s *Stack) routes() http.Handler {
	routes := map[string]http.Handler{
		"GET /authorize":   apigw.Handler("GET /authorize", s.App.Authorize),
		"GET /callback":    apigw.Handler("GET /callback", s.App.Callback),
		"GET /":            http.HandlerFunc(s.index),
		"GET /app/connect": http.HandlerFunc(s.connect),
		"GET /app/return":  http.HandlerFunc(s.returnPage),
	}
	for _, route := range connections.Routes {
		routes[route] = apigw.Handler(route, s.Connections.Handle)
	}
	return newRouter(s.BaseURL, routes)
}

func trimID(id string) string {
	id = strings.TrimSpace(id)
	if !connid.Valid(id) {
		return ""
	}
	return id
}
