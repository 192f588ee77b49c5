// Package connect holds the handlers of the connect flow: GET /authorize,
// which checks a signed connect link and sends the browser to GoTo, and
// GET /callback, GoTo's redirect URI, which exchanges the code and stores
// the connection.
//
// Handlers are plain functions of an API Gateway HTTP API (payload 2.0)
// request; the Lambda functions and the local server both call them.
package connect

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// App serves the connect flow. Build it once at cold start; it holds no
// per-request state.
type App struct {
	Config  *config.Config
	Secrets secrets.Source
	// Links gives the connect-link keys to Authorize: the link secret
	// (LINK_SECRET_ID), so that authorize never reads the client secret;
	// nil means Secrets.
	Links secrets.Source
	// DB is the DynamoDB client (usually *dynamodb.Client).
	DB dynamo.Client
	// HTTPClient sends token requests to GoTo; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives one line per request outcome; never a secret.
	Logger *slog.Logger
	// Metrics receives one CloudWatch Embedded Metric Format line per
	// request (outcome, reason, GoTo's latency); os.Stdout in Lambda, nil
	// writes none.
	Metrics io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Events receives connection.connected when a callback stores a
	// connection; nil publishes nothing.
	Events gotoauth.EventSink
	// KMS encrypts the tokens the callback stores (TOKEN_KMS_KEY_ID); nil
	// leaves them to the secret's token keys.
	KMS *gotoauth.KMSCipher
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *App) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// deps builds the per-request store and GoTo client from the current
// secrets (which Secrets Manager may rotate).
func (a *App) deps(ctx context.Context) (*secrets.Secrets, *gotoauth.Store, *gotoauth.Client, error) {
	sec, err := a.Secrets.Get(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := gotoauth.NewStore(a.DB, a.Config.TableName, platform.StoreOptions(sec, a.KMS, a.Config.Schedule)...)
	if err != nil {
		return nil, nil, nil, err
	}
	store.Tune(tuning.Clock(a.now))
	client := &gotoauth.Client{
		ClientID:     a.Config.ClientID,
		ClientSecret: sec.ClientSecret,
		RedirectURL:  a.Config.RedirectURI,
		Endpoint:     a.Config.Endpoint,
		HTTPClient:   a.HTTPClient,
		Now:          a.now,
	}
	return sec, store, client, nil
}

// authorizeDeps gives Authorize the link keys and a GoTo client that only
// builds consent URLs: no client secret, no store.
func (a *App) authorizeDeps(ctx context.Context) (*secrets.Secrets, *gotoauth.Client, error) {
	src := a.Links
	if src == nil {
		src = a.Secrets
	}
	sec, err := src.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	return sec, &gotoauth.Client{
		ClientID:    a.Config.ClientID,
		RedirectURL: a.Config.RedirectURI,
		Endpoint:    a.Config.Endpoint,
		HTTPClient:  a.HTTPClient,
		Now:         a.now,
	}, nil
}

// pendingStore returns the store of pending authorizations under sec's
// token cipher.
func (a *App) pendingStore(sec *secrets.Secrets) *pendingStore {
	return &pendingStore{db: a.DB, table: a.Config.TableName, cipher: sec.TokenCipher, now: a.now}
}

// NewApp returns the App of the connect flow built from the function's
// parts (configuration, AWS clients, secrets, logger).
func NewApp(p *platform.Parts) *App {
	return &App{Config: p.Config, Secrets: p.Secrets, Links: p.LinkSecrets, DB: p.DB, HTTPClient: p.HTTPClient, Logger: p.Logger, Events: p.Events, KMS: p.KMS, Metrics: os.Stdout}
}
