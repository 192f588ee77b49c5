package connect

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// PendingLifetime is how long a started authorization waits for GoTo's
// redirect; the binding cookie lives as long.
const PendingLifetime = 10 * time.Minute

// MaxPendingPerLink is how many started authorizations one connect link can
// have waiting at once. Each link owns that many slots in the table, keyed
// by a hash of the link, and a slot is taken again only once its
// authorization has finished or expired: however often a leaked link is
// replayed, it occupies at most this many items.
const MaxPendingPerLink = 5

// pending is an authorization that has sent a browser to GoTo and waits for
// it to come back to the callback.
//
// Its state is "<link>.<slot>.<random>": link is a hash of the connect
// link, slot the link's slot it occupies, random 256 fresh bits. The item
// lives under state#<link>#<slot> and holds only the state's SHA-256, so
// the table holds no state value a reader could replay.
type pending struct {
	State        string
	ConnectionID string
	ReturnTo     string
	CodeVerifier string // PKCE verifier, "" when PKCE is off; encrypted at rest
	// BindingHash is the SHA-256 (hex) of the value of the cookie that
	// binds the state to the browser that started the flow.
	BindingHash string
	ExpiresAt   time.Time
}

// Reasons a pending authorization cannot be started or finished.
var (
	// errTooManyPending: every slot of the link holds an unfinished,
	// unexpired authorization.
	errTooManyPending = errors.New("the connect link has too many authorizations in progress")
	// errStateUnknown: no such state, or it was used already.
	errStateUnknown = errors.New("unknown or already used state")
	// errStateExpired: the authorization took longer than PendingLifetime.
	errStateExpired = errors.New("the authorization has expired")
	// errStateBinding: the browser's cookie does not match the state.
	errStateBinding = errors.New("the state belongs to another browser")
)

// pendingItem is a pending authorization as the table holds it.
type pendingItem struct {
	PK           string `dynamodbav:"pk"`
	StateHash    string `dynamodbav:"state_hash"` // SHA-256 (hex) of the state
	ConnectionID string `dynamodbav:"connection_id"`
	BindingHash  string `dynamodbav:"binding_hash"`
	ExpiresAt    int64  `dynamodbav:"expires_at"`
	TTL          int64  `dynamodbav:"ttl"` // a while after it stopped being usable
	ReturnTo     string `dynamodbav:"return_to,omitempty"`
	CodeVerifier string `dynamodbav:"code_verifier,omitempty"` // encrypted with the token cipher, if any
}

// pendingDB is the part of the DynamoDB client pending states use.
type pendingDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// pendingStore keeps pending authorizations in the connector's table.
type pendingStore struct {
	db     pendingDB
	table  string
	cipher *gotoauth.TokenCipher // nil: the verifier is stored as it is
	now    func() time.Time
}

// linkID names a connect link in pending state keys: a hash of what its
// signature covers, so every spelling of one link has one id.
func linkID(l gotoauth.Link) string {
	sum := sha256.Sum256([]byte("connect-link\n" + l.Canonical()))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// hashHex returns the hex SHA-256 of s (binding cookie values, states).
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// pendingKey returns the item key of a state, false when the state is not
// one this connector issues.
func pendingKey(state string) (map[string]types.AttributeValue, bool) {
	link, rest, ok1 := strings.Cut(state, ".")
	slot, random, ok2 := strings.Cut(rest, ".")
	n, err := strconv.Atoi(slot)
	if !ok1 || !ok2 || len(link) != 16 || len(slot) != 1 || err != nil || n >= MaxPendingPerLink || len(random) < 22 {
		return nil, false
	}
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: slotPK(link, n)}}, true
}

func slotPK(link string, slot int) string {
	return "state#" + link + "#" + strconv.Itoa(slot)
}

// put stores p in a free slot of the link and returns it with its new
// State. A slot is free when it is empty or its authorization has expired.
// When all are taken it returns errTooManyPending and stores nothing.
func (s *pendingStore) put(ctx context.Context, link string, p pending) (pending, error) {
	now := s.now()
	for slot := 0; slot < MaxPendingPerLink; slot++ {
		p.State = link + "." + strconv.Itoa(slot) + "." + oauth.GenerateState()
		row := pendingItem{
			PK:           slotPK(link, slot),
			StateHash:    hashHex(p.State),
			ConnectionID: p.ConnectionID,
			BindingHash:  p.BindingHash,
			ExpiresAt:    p.ExpiresAt.Unix(),
			TTL:          p.ExpiresAt.Add(time.Hour).Unix(),
			ReturnTo:     p.ReturnTo,
			CodeVerifier: p.CodeVerifier,
		}
		if s.cipher != nil && row.CodeVerifier != "" {
			row.CodeVerifier = s.cipher.Encrypt(row.CodeVerifier, p.ConnectionID)
		}
		item, err := attributevalue.MarshalMap(row)
		if err != nil {
			return p, fmt.Errorf("encoding the pending authorization: %w", err)
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           &s.table,
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(pk) OR expires_at <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			},
		})
		if isConditionFailed(err) {
			continue // taken: try the next slot
		}
		if err != nil {
			return p, fmt.Errorf("storing the pending authorization: %w", err)
		}
		return p, nil
	}
	return p, errTooManyPending
}

// consume takes the pending authorization of state, exactly once: it is
// deleted atomically, only if it exists, is unexpired and its binding
// matches bindingValue (the browser's cookie). Of two callbacks with the
// same state, one at most succeeds. A callback whose cookie does not match
// leaves the pending authorization in place for the browser it belongs to.
// A state this connector could not have issued costs no DynamoDB call.
func (s *pendingStore) consume(ctx context.Context, state, bindingValue string) (*pending, error) {
	key, ok := pendingKey(state)
	if !ok {
		return nil, errStateUnknown
	}
	now := s.now()
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           &s.table,
		Key:                 key,
		ConditionExpression: aws.String("state_hash = :s AND binding_hash = :b AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: hashHex(state)},
			":b":   &types.AttributeValueMemberS{Value: hashHex(bindingValue)},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("consuming the pending authorization: %w", err)
		}
		return nil, s.whyNotConsumed(ctx, key, state, bindingValue, now)
	}
	var row pendingItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &row); err != nil {
		return nil, fmt.Errorf("reading the pending authorization: %w", err)
	}
	p := &pending{
		State:        state,
		ConnectionID: row.ConnectionID,
		ReturnTo:     row.ReturnTo,
		BindingHash:  row.BindingHash,
		ExpiresAt:    time.Unix(row.ExpiresAt, 0),
	}
	// Decrypt passes a plain (unencrypted) value through.
	if p.CodeVerifier, err = s.cipher.Decrypt(row.CodeVerifier, p.ConnectionID); err != nil {
		return nil, err
	}
	return p, nil
}

// whyNotConsumed tells apart the reasons a conditional delete failed.
func (s *pendingStore) whyNotConsumed(ctx context.Context, key map[string]types.AttributeValue, state, bindingValue string, now time.Time) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	var row pendingItem
	if err != nil || out.Item == nil || attributevalue.UnmarshalMap(out.Item, &row) != nil || !sameHash(row.StateHash, hashHex(state)) {
		// Never issued, used already, or its slot taken by a newer one.
		return errStateUnknown
	}
	if row.ExpiresAt <= now.Unix() {
		return errStateExpired
	}
	if !sameHash(row.BindingHash, hashHex(bindingValue)) {
		return errStateBinding
	}
	// It was consumed between the two reads.
	return errStateUnknown
}

func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
