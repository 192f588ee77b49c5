package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
)

// Status is the state of a connection.
type Status string

// Connection states.
const (
	// StatusActive: the tokens work, or are expected to.
	StatusActive Status = "active"
	// StatusReauthRequired: GoTo refused the refresh token for good; the
	// customer must connect again.
	StatusReauthRequired Status = "reauth_required"
	// StatusDisconnected is the status a connection.disconnected event
	// carries: the connection was deleted. No stored connection has it.
	StatusDisconnected Status = "disconnected"
)

// dueShards is how many partitions of the due index the connections are
// spread over, so that a sweep of millions reads them in parallel and no
// single partition caps it.
const dueShards = 32

// Connection is a stored GoTo connection. Tokens are decrypted.
type Connection struct {
	ConnectionID string
	Status       Status

	AccessToken           string
	RefreshToken          string
	AccessTokenExpiresAt  time.Time
	RefreshTokenExpiresAt time.Time
	ConnectedAt           time.Time
	RefreshedAt           time.Time

	// Identity is the GoTo account, as GoTo described it at the last
	// consent or refresh.
	Identity

	// NextRefreshAt is when the scheduled refresh picks the connection up
	// (zero once it needs re-authorization).
	NextRefreshAt time.Time
	// ReauthReason is GoTo's error code when Status is reauth_required.
	ReauthReason string
	// FailureCount counts transient refresh failures since the last success.
	FailureCount int
	// LastError is the code of the last failed refresh, if any.
	LastError string
	// ImportedAt is when cmd/import (Store.ImportConnection) stored the
	// connection; zero for one made through the connect flow.
	ImportedAt time.Time
	// Revision is the store's write counter: it grows by one with every
	// write of new tokens (and with a re-authorization mark). It is not
	// GoTo's Token.Version.
	Revision int64

	leaseOwner     string
	leaseExpiresAt time.Time
	failing        bool // the item carries the refresh_failing mark (failingAttr)
}

// Store keeps connections (and the connector's internal items) in one
// DynamoDB table with the string partition key pk. Build it with NewStore;
// it is safe for concurrent use.
type Store struct {
	db         dynamo.Client
	table      string
	cipher     *TokenCipher
	kms        *KMSCipher
	requireEnc bool
	schedule   Schedule
	planning   planState
	now        func() time.Time
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithTokenCipher encrypts tokens at rest (and decrypts them on read).
func WithTokenCipher(c *TokenCipher) StoreOption { return func(s *Store) { s.cipher = c } }

// WithKMSCipher encrypts tokens at rest under KMS data keys (enc:kms1:,
// see KMSCipher) and decrypts them on read. With WithTokenCipher as well,
// values of the older enc:v1: format stay readable while their keys are
// there; every write uses KMS. Build the cipher for this store's table.
func WithKMSCipher(k *KMSCipher) StoreOption { return func(s *Store) { s.kms = k } }

// RequireEncryption makes the store refuse to read or write a plain token:
// NewStore fails without WithTokenCipher or WithKMSCipher, and a stored token that is not
// encrypted reads as an ErrTokenKey error instead of being used.
func RequireEncryption() StoreOption { return func(s *Store) { s.requireEnc = true } }

// WithSchedule sets when connections are refreshed; the zero Schedule uses
// the defaults.
func WithSchedule(sch Schedule) StoreOption { return func(s *Store) { s.schedule = sch } }

// Tune changes knobs that only the connector's own code sets (see
// internal/tuning: the clock tests move). Call it after NewStore and before
// the first use.
func (s *Store) Tune(fs ...func(*tuning.Store)) {
	k := tuning.Store{Now: s.now}
	for _, f := range fs {
		f(&k)
	}
	if k.Now == nil {
		k.Now = time.Now
	}
	s.now = k.Now
}

// NewStore returns a store on table, through db: a *dynamodb.Client (from
// dynamodb.NewFromConfig). It fails when db or table is missing, or when
// RequireEncryption is given without a cipher.
func NewStore(db dynamo.Client, table string, opts ...StoreOption) (*Store, error) {
	s := &Store{db: db, table: table, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch {
	case db == nil:
		return nil, fmt.Errorf("%w: NewStore needs a DynamoDB client", ErrNotConfigured)
	case table == "":
		return nil, fmt.Errorf("%w: NewStore needs a table name", ErrNotConfigured)
	case s.requireEnc && s.cipher == nil && s.kms == nil:
		return nil, fmt.Errorf("%w: the store requires encryption but has no token cipher", ErrNotConfigured)
	case s.kms != nil && s.kms.table != table:
		return nil, fmt.Errorf("%w: the KMS cipher is bound to table %q, not %q", ErrNotConfigured, s.kms.table, table)
	case s.now == nil:
		s.now = time.Now
	}
	return s, nil
}

// check reports a Store that was not built by NewStore.
func (s *Store) check() error {
	if s == nil || s.db == nil {
		return fmt.Errorf("%w: use NewStore to build a Store", ErrNotConfigured)
	}
	return nil
}

func connKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#" + id}}
}

// dueShard spreads connections over the due index's partitions.
func dueShard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("due#%02d", h.Sum32()%dueShards)
}

// Connection reads a connection (strongly consistent). It returns
// ErrNotFound when there is none.
func (s *Store) Connection(ctx context.Context, id string) (*Connection, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !connid.Valid(id) {
		return nil, ErrInvalidConnectionID
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            connKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, storeError("reading the connection", err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	return s.decode(ctx, out.Item)
}

// SaveConnection stores the token of a finished consent for connection id.
// A new connection is created; an existing one (a reconnect) gets the new
// tokens and identity in place of the old, becomes active again, and loses
// any refresh lease, failure count and re-authorization reason, so that a
// refresher still holding the old refresh token cannot overwrite it.
func (s *Store) SaveConnection(ctx context.Context, id string, tok *Token) (*Connection, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !connid.Valid(id) {
		return nil, ErrInvalidConnectionID
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("gotoauth: SaveConnection needs a token with an access token")
	}
	if tok.RefreshToken == "" {
		return nil, ErrNoRefreshToken
	}
	c := s.newConnection(id, tok, s.now(), time.Time{})
	// A slower, older consent must not overwrite a newer one.
	cond := expression.Or(
		expression.AttributeNotExists(expression.Name("pk")),
		expression.Or(
			expression.AttributeNotExists(expression.Name("connected_at")),
			expression.Name("connected_at").LessThanEqual(expression.Value(unix(c.ConnectedAt))),
		),
	)
	err := s.writeConnection(ctx, c, cond)
	if isConditionFailed(err) {
		return nil, errors.New("gotoauth: a newer consent for this connection was stored meanwhile")
	}
	if err != nil {
		return nil, storeError("storing the connection", err)
	}
	return c, nil
}

// newConnection is connection id as a consent (or an import) at now leaves
// it: active, tok's tokens and identity, scheduled. The refresh token was
// issued at refreshIssued, or now when that is zero.
func (s *Store) newConnection(id string, tok *Token, now, refreshIssued time.Time) *Connection {
	if refreshIssued.IsZero() {
		refreshIssued = now
	}
	c := &Connection{
		ConnectionID:          id,
		Status:                StatusActive,
		AccessToken:           tok.AccessToken,
		RefreshToken:          tok.RefreshToken,
		AccessTokenExpiresAt:  tok.Expiry,
		RefreshTokenExpiresAt: s.schedule.RefreshTokenExpiry(refreshIssued),
		ConnectedAt:           now,
		RefreshedAt:           now,
		Identity:              tok.Identity,
	}
	c.NextRefreshAt = s.next(id, time.Time{}, now, c.AccessTokenExpiresAt, c.RefreshTokenExpiresAt)
	return c
}

// writeConnection writes c, a whole new state of its connection (see
// newConnection), if cond holds: its tokens sealed, its schedule, and
// nothing left of the refresher's bookkeeping (lease, failures,
// re-authorization) or of an identity that did not come with it. It sets
// c.Revision. The error is DynamoDB's (isConditionFailed when cond did not
// hold).
func (s *Store) writeConnection(ctx context.Context, c *Connection, cond expression.ConditionBuilder) error {
	id := c.ConnectionID
	access, err := s.seal(ctx, c.AccessToken, id)
	if err != nil {
		return err
	}
	refresh, err := s.seal(ctx, c.RefreshToken, id)
	if err != nil {
		return err
	}
	// The identity is written apart: one that did not arrive is removed, a
	// reconnect to another GoTo account leaves nothing of the previous one.
	upd, err := setItem(expression.UpdateBuilder{}, connItem{
		ConnectionID:          id,
		Status:                StatusActive,
		AccessToken:           access,
		RefreshToken:          refresh,
		AccessTokenExpiresAt:  unix(c.AccessTokenExpiresAt),
		RefreshTokenExpiresAt: unix(c.RefreshTokenExpiresAt),
		ConnectedAt:           unix(c.ConnectedAt),
		RefreshedAt:           unix(c.RefreshedAt),
		DueShard:              dueShard(id),
		NextRefreshAt:         unix(c.NextRefreshAt),
		ImportedAt:            unix(c.ImportedAt),
	})
	if err != nil {
		return err
	}
	upd = clearLeaseAndTrouble(upd.Add(expression.Name("version"), expression.Value(1)))
	if c.ImportedAt.IsZero() {
		// A consent through the connect flow replaces an imported one.
		upd = upd.Remove(expression.Name(importedAttr))
	}
	upd = setIdentity(upd, c.Identity, true)
	attrs, err := s.update(ctx, id, upd, cond, types.ReturnValueUpdatedNew)
	if err != nil {
		return err
	}
	c.Revision = revision(attrs)
	return nil
}

// update applies upd to connection id's item if cond holds, in one
// conditional UpdateItem, and returns the attributes rv asks for.
func (s *Store) update(ctx context.Context, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder, rv types.ReturnValue) (map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       connKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              rv,
	})
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// seal encrypts a token for connection id: under KMS when configured,
// else under the active key of the token cipher, else not at all. A KMS
// failure is an ErrStore error.
func (s *Store) seal(ctx context.Context, token, id string) (string, error) {
	switch {
	case s.kms != nil:
		return s.kms.Encrypt(ctx, token, id)
	case s.cipher != nil:
		return s.cipher.Encrypt(token, id), nil
	default:
		return token, nil
	}
}

// open decrypts a stored token (enc:kms1: through the KMS cipher, enc:v1:
// through the token cipher), refusing a plain one when the store requires
// encryption.
func (s *Store) open(ctx context.Context, value, id string) (string, error) {
	switch {
	case strings.HasPrefix(value, kmsPrefix):
		if s.kms == nil {
			return "", fmt.Errorf("%w: it is encrypted under KMS but no KMS key is configured", ErrTokenKey)
		}
		return s.kms.Decrypt(ctx, value, id)
	case s.requireEnc && value != "" && !strings.HasPrefix(value, encPrefix):
		return "", fmt.Errorf("%w: a stored token is not encrypted and the store requires encryption", ErrTokenKey)
	}
	return s.cipher.Decrypt(value, id)
}

// storeError wraps a DynamoDB failure as ErrStore, keeping the SDK's error
// for errors.As.
func storeError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStore, what, err)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// clearLeaseAndTrouble removes what a successful write of fresh tokens ends:
// the refresher's lease, the failure streak and the reauth marker (with the
// status key that indexes it).
func clearLeaseAndTrouble(upd expression.UpdateBuilder) expression.UpdateBuilder {
	for _, attr := range []string{
		"lease_owner", "lease_expires_at",
		"failure_count", "last_error", "last_error_at", failingAttr,
		"reauth_reason", "reauth_at", "reauth_from_version", statusKeyAttr,
	} {
		upd = upd.Remove(expression.Name(attr))
	}
	return upd
}
