// Package platform builds the connector's parts from the environment at cold
// start: configuration, AWS clients, the secrets source and the logger. The
// Lambda mains call it and start; nothing here changes after start. It links
// no handler: each function imports only the handlers it serves.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Parts are what every function needs.
type Parts struct {
	Config  *config.Config
	DB      *dynamodb.Client
	Secrets secrets.Source
	// LinkSecrets gives the connect-link keys: the link secret
	// (LINK_SECRET_ID, link keys only) when it is set, else Secrets.
	LinkSecrets secrets.Source
	HTTPClient  *http.Client
	Logger      *slog.Logger
	// Events receives lifecycle events: EventBridge on the bus
	// EVENT_BUS_NAME names, nil when it is none.
	Events gotoauth.EventSink
	// KMS encrypts tokens under TOKEN_KMS_KEY_ID's data keys; nil when it
	// is unset. Built once per process, so its data-key cache (5 minutes
	// or 10,000 encryptions) spans the process's invocations.
	KMS *gotoauth.KMSCipher
}

// Logger returns the JSON logger the functions write to stdout (CloudWatch):
// at the level of AWS_LAMBDA_LOG_LEVEL (set by Lambda from the template's
// LogLevel), each line with the invocation's request id (see Invocation).
func Logger() *slog.Logger {
	return newLogger(os.Stdout, os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
}

// FromEnv reads the configuration through getenv and builds the AWS clients
// with the SDK's own environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_EVENTBRIDGE,
// AWS_ENDPOINT_URL_KMS, ...).
func FromEnv(ctx context.Context, getenv func(string) string) (*Parts, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	p := &Parts{
		Config: cfg,
		DB:     dynamodb.NewFromConfig(awsCfg, quietLocalChecksums),
		HTTPClient: &http.Client{
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
				TLSHandshakeTimeout: 5 * time.Second,
			},
		},
		Logger: Logger(),
	}
	if cfg.TokenKMSKeyID != "" {
		if p.KMS, err = gotoauth.NewKMSCipher(kms.NewFromConfig(awsCfg), cfg.TokenKMSKeyID, cfg.TableName); err != nil {
			return nil, err
		}
	}
	if cfg.EventBusName != "" {
		p.Events = gotoauth.NewEventBridgeSink(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	}
	var sm *secretsmanager.Client
	if cfg.SecretID != "" || cfg.LinkSecretID != "" {
		sm = secretsmanager.NewFromConfig(awsCfg)
	}
	switch {
	case cfg.SecretID != "" && cfg.LinkSecretID != "":
		p.Secrets = &secrets.Manager{Client: sm, SecretID: cfg.SecretID, Parse: secrets.ParseClient}
	case cfg.SecretID != "":
		p.Secrets = &secrets.Manager{Client: sm, SecretID: cfg.SecretID}
	case cfg.LinkSecretID != "" && (cfg.ClientSecret == "" || cfg.LinkSigningKey == ""):
		p.Secrets = secrets.Missing{Err: errors.New("GOTO_SECRET_ID is unset: only authorize runs with LINK_SECRET_ID alone; this function needs the client secret")}
	default:
		p.Logger.Warn("GOTO_SECRET_ID is unset: using GOTO_CLIENT_SECRET and GOTO_LINK_SIGNING_KEY from the environment (local development only)")
		src, err := secrets.FromValues(cfg.ClientSecret, cfg.LinkSigningKey)
		if err != nil {
			return nil, err
		}
		p.Secrets = src
	}
	p.LinkSecrets = p.Secrets
	if cfg.LinkSecretID != "" {
		p.LinkSecrets = &secrets.Manager{Client: sm, SecretID: cfg.LinkSecretID, Parse: secrets.ParseLink}
	}
	return p, nil
}

// quietLocalChecksums turns off the CRC32 check of DynamoDB responses when
// the endpoint is DynamoDB Local on this machine: it answers conditional
// check failures with a zero checksum, and the SDK would print a warning for
// each. Against AWS the check stays on.
func quietLocalChecksums(o *dynamodb.Options) {
	if o.BaseEndpoint == nil {
		return
	}
	if u, err := url.Parse(*o.BaseEndpoint); err == nil && config.IsLoopbackHost(u.Hostname()) {
		o.DisableValidateResponseChecksum = true
	}
}

// Fatal reports a cold-start failure and exits; Lambda shows it as an init
// error with this message.
func Fatal(err error) {
	Logger().Error("cannot start", "error", err.Error())
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// Store returns the connection store with sec's token cipher, the KMS
// cipher when TOKEN_KMS_KEY_ID is set, and the configured schedule.
func (p *Parts) Store(sec *secrets.Secrets) (*gotoauth.Store, error) {
	return gotoauth.NewStore(p.DB, p.Config.TableName, StoreOptions(sec, p.KMS, p.Config.Schedule)...)
}

// StoreOptions are the options of the connection store: sec's token
// cipher (enc:v1, readable while its keys are in the secret), k when not
// nil (every write under KMS), and the schedule.
func StoreOptions(sec *secrets.Secrets, k *gotoauth.KMSCipher, sch gotoauth.Schedule) []gotoauth.StoreOption {
	opts := []gotoauth.StoreOption{gotoauth.WithTokenCipher(sec.TokenCipher), gotoauth.WithSchedule(sch)}
	if k != nil {
		opts = append(opts, gotoauth.WithKMSCipher(k))
	}
	return opts
}

// GoToClient returns the GoTo OAuth client with sec's client secret.
func (p *Parts) GoToClient(sec *secrets.Secrets) *gotoauth.Client {
	return &gotoauth.Client{
		ClientID:     p.Config.ClientID,
		ClientSecret: sec.ClientSecret,
		RedirectURL:  p.Config.RedirectURI,
		Endpoint:     p.Config.Endpoint,
		HTTPClient:   p.HTTPClient,
	}
}

// TokenSource returns a token source on Store(sec) and GoToClient(sec),
// logging to the function's logger and publishing the lifecycle events it
// causes to Events.
func (p *Parts) TokenSource(sec *secrets.Secrets, opts ...gotoauth.Option) (*gotoauth.TokenSource, error) {
	store, err := p.Store(sec)
	if err != nil {
		return nil, err
	}
	base := []gotoauth.Option{gotoauth.WithLogger(p.Logger)}
	if p.Events != nil {
		base = append(base, gotoauth.WithEvents(p.Events))
	}
	return gotoauth.NewTokenSource(store, p.GoToClient(sec), append(base, opts...)...)
}

// Built is what a function builds from one version of the secrets.
type Built struct {
	Secrets *secrets.Secrets
	Store   *gotoauth.Store
	Tokens  *gotoauth.TokenSource
}

// PerSecrets returns a function that gives the store and token source
// (built with opts) of the current secrets, building them again only when
// the secrets change. A warm function thus keeps its token source's state
// across invocations: answers of GoTo still being stored, the 429 pause,
// the token cache.
func (p *Parts) PerSecrets(opts ...gotoauth.Option) func(ctx context.Context) (*Built, error) {
	var (
		mu  sync.Mutex
		cur *Built
	)
	return func(ctx context.Context) (*Built, error) {
		sec, err := p.Secrets.Get(ctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if cur == nil || cur.Secrets != sec {
			store, err := p.Store(sec)
			if err != nil {
				return nil, err
			}
			ts, err := p.TokenSource(sec, opts...)
			if err != nil {
				return nil, err
			}
			cur = &Built{Secrets: sec, Store: store, Tokens: ts}
		}
		return cur, nil
	}
}
