// Package secrets loads the connector's secrets: the GoTo client secret, the
// connect-link signing key and the token encryption keys, from AWS Secrets
// Manager (cached across warm invocations) or, for local development only,
// from the environment.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Secrets are the values the functions need and never log.
type Secrets struct {
	ClientSecret   string
	LinkSigningKey []byte
	// PreviousLinkSigningKey still verifies connect links until
	// PreviousLinkKeyUntil: the key before the last rotation, for links
	// minted just before it (see LinkKeyGrace).
	PreviousLinkSigningKey []byte
	PreviousLinkKeyUntil   time.Time
	// TokenCipher encrypts tokens at rest; nil when no keys are configured.
	TokenCipher *gotoauth.TokenCipher
}

// LinkKeyGrace is how long after a rotation of link_signing_key the
// previous key (previous_link_signing_key in the same secret version) still
// verifies connect links. The rotation time is the creation time of the
// secret version that Secrets Manager reports.
const LinkKeyGrace = time.Hour

// LinkKeys returns the keys that verify connect links at now: the current
// one, then the previous one during its grace period.
func (s *Secrets) LinkKeys(now time.Time) [][]byte {
	keys := [][]byte{s.LinkSigningKey}
	if len(s.PreviousLinkSigningKey) > 0 && now.Before(s.PreviousLinkKeyUntil) {
		keys = append(keys, s.PreviousLinkSigningKey)
	}
	return keys
}

// Source gives the current secrets.
type Source interface {
	Get(ctx context.Context) (*Secrets, error)
}

// document is the JSON held in the Secrets Manager secret.
type document struct {
	ClientSecret             string            `json:"client_secret"`
	LinkSigningKey           string            `json:"link_signing_key"`
	PreviousLinkSigningKey   string            `json:"previous_link_signing_key"`
	TokenEncryptionKeys      map[string]string `json:"token_encryption_keys"`
	TokenEncryptionActiveKey string            `json:"token_encryption_active_key"`
}

// Parse checks a secret's JSON and builds Secrets from it. Errors name the
// field at fault, never its value.
func Parse(raw []byte) (*Secrets, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, errors.New("the secret is not a JSON object with client_secret and link_signing_key")
	}
	return build(d)
}

// ParseClient checks the JSON of GOTO_SECRET_ID when LINK_SECRET_ID holds
// the link keys: client_secret is required, link_signing_key is not (and
// is checked only when present); the token keys as in Parse.
func ParseClient(raw []byte) (*Secrets, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, errors.New("the secret is not a JSON object with client_secret")
	}
	return check(d, true, d.LinkSigningKey != "")
}

// ParseLink checks the JSON of the link secret (LINK_SECRET_ID): it holds
// link_signing_key and, after a rotation, previous_link_signing_key, and
// nothing else the functions read: a client_secret or token keys there are
// an error, since every reader of the link secret (authorize) could read
// them. The Secrets it gives have no ClientSecret and no TokenCipher.
func ParseLink(raw []byte) (*Secrets, error) {
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, errors.New("the link secret is not a JSON object with link_signing_key")
	}
	var errs []error
	if d.ClientSecret != "" {
		errs = append(errs, errors.New("the link secret holds client_secret: keep it only in GOTO_SECRET_ID, which authorize does not read"))
	}
	if len(d.TokenEncryptionKeys) > 0 || d.TokenEncryptionActiveKey != "" {
		errs = append(errs, errors.New("the link secret holds token_encryption_keys or token_encryption_active_key: keep them only in GOTO_SECRET_ID"))
	}
	s, err := check(d, false, true)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func build(d document) (*Secrets, error) { return check(d, true, true) }

// check builds Secrets from d, requiring client_secret and
// link_signing_key as told.
func check(d document, needClient, needLink bool) (*Secrets, error) {
	var errs []error
	if needClient && d.ClientSecret == "" {
		errs = append(errs, errors.New("client_secret is missing"))
	}
	if needLink && len(d.LinkSigningKey) < 16 {
		errs = append(errs, errors.New("link_signing_key is missing or shorter than 16 characters"))
	}
	if d.PreviousLinkSigningKey != "" && len(d.PreviousLinkSigningKey) < 16 {
		errs = append(errs, errors.New("previous_link_signing_key is shorter than 16 characters"))
	}
	s := &Secrets{ClientSecret: d.ClientSecret, LinkSigningKey: []byte(d.LinkSigningKey), PreviousLinkSigningKey: []byte(d.PreviousLinkSigningKey)}
	if len(d.TokenEncryptionKeys) > 0 || d.TokenEncryptionActiveKey != "" {
		keys, err := ParseTokenKeys(d.TokenEncryptionKeys)
		if err == nil {
			s.TokenCipher, err = gotoauth.NewTokenCipher(keys, d.TokenEncryptionActiveKey)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Missing is the Source of a function that has no GoTo secret configured
// (GOTO_SECRET_ID unset, only LINK_SECRET_ID): every Get fails with Err.
type Missing struct{ Err error }

// Get returns Err.
func (m Missing) Get(context.Context) (*Secrets, error) { return nil, m.Err }

// Static is a Source of fixed secrets: local development and tests.
type Static struct{ S *Secrets }

// Get returns the fixed secrets.
func (s Static) Get(context.Context) (*Secrets, error) { return s.S, nil }

// FromValues builds fixed secrets from the local-only variables
// GOTO_CLIENT_SECRET and GOTO_LINK_SIGNING_KEY.
func FromValues(clientSecret, linkSigningKey string) (Static, error) {
	s, err := build(document{ClientSecret: clientSecret, LinkSigningKey: linkSigningKey})
	if err != nil {
		return Static{}, fmt.Errorf("local secrets (GOTO_CLIENT_SECRET, GOTO_LINK_SIGNING_KEY): %w", err)
	}
	return Static{S: s}, nil
}

// GetSecretValueAPI is the part of the Secrets Manager client used here.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultTTL is how long Manager keeps secrets before reading them again,
// so that a rotated secret reaches warm functions.
const DefaultTTL = 5 * time.Minute

// Manager reads the secret from Secrets Manager and keeps it for TTL. When a
// refresh fails, it keeps serving the last good value for up to an hour more,
// so that a Secrets Manager hiccup does not fail a customer's connect flow.
type Manager struct {
	Client   GetSecretValueAPI
	SecretID string
	TTL      time.Duration
	Now      func() time.Time
	// Parse checks the secret's JSON: nil is Parse (the whole GoTo secret);
	// ParseLink for the link secret, ParseClient for GOTO_SECRET_ID when the
	// link secret holds the link keys.
	Parse func(raw []byte) (*Secrets, error)

	mu       sync.Mutex
	cached   *Secrets
	version  string // what cached was parsed from: unchanged, it is kept
	fetched  time.Time
	reloaded time.Time // last forced read (Reload)
}

// Get returns the secrets, from the cache while they are fresh.
func (m *Manager) Get(ctx context.Context) (*Secrets, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	ttl := m.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if m.cached != nil && now.Sub(m.fetched) < ttl {
		return m.cached, nil
	}
	s, err := m.fetch(ctx)
	if err != nil {
		if m.cached != nil && now.Sub(m.fetched) < ttl+time.Hour {
			return m.cached, nil
		}
		return nil, err
	}
	m.fetched = now
	return s, nil
}

// fetch reads the secret and caches it. An unchanged secret keeps the
// same *Secrets, so that what the functions build from it (a token source
// with its in-process state) is built again only when the secret changes.
func (m *Manager) fetch(ctx context.Context) (*Secrets, error) {
	s, version, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	if m.cached == nil || version != m.version {
		m.cached, m.version = s, version
	}
	return m.cached, nil
}

// read reads and parses the secret; version tells its contents apart.
func (m *Manager) read(ctx context.Context) (*Secrets, string, error) {
	out, err := m.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &m.SecretID})
	if err != nil {
		return nil, "", fmt.Errorf("reading secret %s: %w", m.SecretID, err)
	}
	if out.SecretString == nil {
		return nil, "", fmt.Errorf("secret %s has no SecretString (binary secrets are not supported)", m.SecretID)
	}
	parse := m.Parse
	if parse == nil {
		parse = Parse
	}
	s, err := parse([]byte(*out.SecretString))
	if err != nil {
		return nil, "", fmt.Errorf("secret %s: %w", m.SecretID, err)
	}
	// The previous link key counts from the creation of this version: the
	// rotation. Without that time it is not accepted at all.
	if len(s.PreviousLinkSigningKey) > 0 && out.CreatedDate != nil {
		s.PreviousLinkKeyUntil = out.CreatedDate.Add(LinkKeyGrace)
	}
	version := *out.SecretString
	if out.CreatedDate != nil {
		version += "\x00" + out.CreatedDate.String()
	}
	return s, version, nil
}
