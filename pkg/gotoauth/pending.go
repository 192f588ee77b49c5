package gotoauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// PendingLifetime is how long a started authorization waits for GoTo's
// redirect.
const PendingLifetime = 10 * time.Minute

// Pending is an authorization that has sent a browser to GoTo and waits for
// it to come back to the callback. It is stored under a hash of its state,
// so the table holds no state value a reader could replay.
type Pending struct {
	State        string // not stored: the key is its SHA-256
	ConnectionID string
	ReturnTo     string
	CodeVerifier string // PKCE verifier, "" when PKCE is off
	// BindingHash is the SHA-256 (hex) of the value of the cookie that
	// binds the state to the browser that started the flow.
	BindingHash string
	ExpiresAt   time.Time
}

// Errors of ConsumePending. Each means the callback must be refused.
var (
	// ErrStateUnknown: no such state, or it was used already.
	ErrStateUnknown = errors.New("gotoauth: unknown or already used state")
	// ErrStateExpired: the authorization took longer than PendingLifetime.
	ErrStateExpired = errors.New("gotoauth: the authorization has expired")
	// ErrStateBinding: the browser's cookie does not match the state.
	ErrStateBinding = errors.New("gotoauth: the state belongs to another browser")
)

// HashBinding returns the hex SHA-256 of a binding cookie value.
func HashBinding(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

func pendingKey(state string) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(state))
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "state#" + hex.EncodeToString(sum[:])}}
}

// PutPending stores a started authorization. Its item expires by TTL after
// ExpiresAt, and ConsumePending refuses it from then on, whether or not TTL
// has removed it yet.
func (s *Store) PutPending(ctx context.Context, p Pending) error {
	item := pendingKey(p.State)
	item["connection_id"] = &types.AttributeValueMemberS{Value: p.ConnectionID}
	item["binding_hash"] = &types.AttributeValueMemberS{Value: p.BindingHash}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(p.ExpiresAt.Unix())}
	// TTL removes it a while after it stopped being usable.
	item["ttl"] = &types.AttributeValueMemberN{Value: fmt.Sprint(p.ExpiresAt.Add(time.Hour).Unix())}
	if p.ReturnTo != "" {
		item["return_to"] = &types.AttributeValueMemberS{Value: p.ReturnTo}
	}
	if p.CodeVerifier != "" {
		item["code_verifier"] = &types.AttributeValueMemberS{Value: s.seal(p.CodeVerifier, p.ConnectionID)}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("gotoauth: storing the pending authorization: %w", err)
	}
	return nil
}

// ConsumePending takes the pending authorization of state, exactly once: it
// is deleted atomically, only if it exists, is unexpired and its binding
// matches bindingValue (the browser's cookie). Of two callbacks with the same
// state, one at most succeeds. A callback whose cookie does not match leaves
// the pending authorization in place for the browser it belongs to.
func (s *Store) ConsumePending(ctx context.Context, state, bindingValue string) (*Pending, error) {
	now := s.now()
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           &s.table,
		Key:                 pendingKey(state),
		ConditionExpression: aws.String("attribute_exists(pk) AND binding_hash = :b AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":b":   &types.AttributeValueMemberS{Value: HashBinding(bindingValue)},
			":now": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Unix())},
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("gotoauth: consuming the pending authorization: %w", err)
		}
		return nil, s.whyNotConsumed(ctx, state, bindingValue, now)
	}
	item := out.Attributes
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	p := &Pending{
		State:        state,
		ConnectionID: str("connection_id"),
		ReturnTo:     str("return_to"),
		BindingHash:  str("binding_hash"),
		ExpiresAt:    time.Unix(numberAttr(item, "expires_at"), 0),
	}
	if p.CodeVerifier, err = s.cipher.Decrypt(str("code_verifier"), p.ConnectionID); err != nil {
		return nil, err
	}
	return p, nil
}

// whyNotConsumed tells apart the reasons a conditional delete failed.
func (s *Store) whyNotConsumed(ctx context.Context, state, bindingValue string, now time.Time) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            pendingKey(state),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return ErrStateUnknown
	}
	if numberAttr(out.Item, "expires_at") <= now.Unix() {
		return ErrStateExpired
	}
	stored, _ := out.Item["binding_hash"].(*types.AttributeValueMemberS)
	if stored == nil || subtle.ConstantTimeCompare([]byte(stored.Value), []byte(HashBinding(bindingValue))) != 1 {
		return ErrStateBinding
	}
	// It was consumed between the two reads.
	return ErrStateUnknown
}
