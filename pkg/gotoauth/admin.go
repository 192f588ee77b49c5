package gotoauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
)

// What a backend does to the connections beyond using their tokens:
// disconnect one for good, and list those that need the customer again.

// The sparse index of connections that need re-authorization: only items
// with statusKeyAttr are in it, and markReauthRequired is the only writer
// that sets it (every write that makes a connection active removes it).
// Its sort key, reauth_at, lists them oldest first, so that pages stay
// stable while new ones are marked.
const (
	reauthIndex   = "reauth"
	statusKeyAttr = "status_key"
)

// DeleteConnection removes connection id and its tokens for good and
// returns what was deleted (its identity, times, status and tokens, so that
// the caller can revoke the refresh token at GoTo; without the tokens when
// they cannot be decrypted), or nil when there was no such connection.
//
// A refresh in flight cannot bring it back: every write of a refresher is
// an UpdateItem conditioned on the item existing with the revision the
// refresher read, so it fails on a deleted item and GoTo's answer is
// dropped. A new consent for the same id (the callback) creates a new
// connection.
func (s *Store) DeleteConnection(ctx context.Context, id string) (*Connection, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !connid.Valid(id) {
		return nil, fmt.Errorf("gotoauth: %q is not a valid connection id", id)
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    &s.table,
		Key:          connKey(id),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return nil, storeError("deleting the connection", err)
	}
	if out.Attributes == nil {
		return nil, nil
	}
	if c, err := s.decode(ctx, out.Attributes); err == nil {
		return c, nil
	}
	return decodeListed(out.Attributes), nil
}

// ListConnections returns up to limit connections with status, oldest
// first, and the cursor of the next page ("" on the last page). Pass ""
// for the first page. Only StatusReauthRequired can be listed: it is read
// from a sparse index (never a table scan), which DynamoDB updates within
// a second or so of a change. The connections hold no tokens.
//
// A status other than reauth_required, a limit outside 1 to 1000 or
// a cursor this method did not return is an ErrInvalidListing.
func (s *Store) ListConnections(ctx context.Context, status Status, limit int, cursor string) ([]*Connection, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	if status != StatusReauthRequired {
		return nil, "", fmt.Errorf("%w: only status %s can be listed", ErrInvalidListing, StatusReauthRequired)
	}
	if limit < 1 || limit > tuning.MaxListLimit {
		return nil, "", fmt.Errorf("%w: limit must be 1 to %d", ErrInvalidListing, tuning.MaxListLimit)
	}
	start, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	// One more than asked for tells whether there is a next page, so the
	// last page never hands out a cursor to an empty one.
	var items []map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(reauthIndex),
			KeyConditionExpression:    aws.String("#k = :v"),
			ExpressionAttributeNames:  map[string]string{"#k": statusKeyAttr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: string(StatusReauthRequired)}},
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(limit + 1 - len(items))),
		})
		if err != nil {
			return nil, "", storeError("reading the reauth index", err)
		}
		items = append(items, out.Items...)
		start = out.LastEvaluatedKey
		if len(items) > limit || start == nil {
			break
		}
	}
	var next string
	if len(items) > limit {
		items = items[:limit]
		next = encodeCursor(items[limit-1])
	}
	conns := make([]*Connection, 0, len(items))
	for _, item := range items {
		conns = append(conns, decodeListed(item))
	}
	return conns, next, nil
}

// decodeListed reads what the reauth index projects (everything but the
// tokens and the refresher's bookkeeping).
func decodeListed(item map[string]types.AttributeValue) *Connection {
	meta := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		if k != "access_token" && k != "refresh_token" {
			meta[k] = v
		}
	}
	c, _ := (&Store{}).decode(context.Background(), meta) // no token to open: it cannot fail
	c.leaseOwner, c.leaseExpiresAt = "", time.Time{}
	return c
}

// cursorKey is a page boundary of the reauth index: its keys, as JSON.
type cursorKey struct {
	PK       string `json:"pk"`
	ReauthAt string `json:"reauth_at"`
}

// encodeCursor turns the last item of a page into the opaque cursor of the
// next: base64url of the index keys as JSON.
func encodeCursor(item map[string]types.AttributeValue) string {
	pk, _ := item["pk"].(*types.AttributeValueMemberS)
	at, _ := item["reauth_at"].(*types.AttributeValueMemberN)
	k := cursorKey{}
	if pk != nil {
		k.PK = pk.Value
	}
	if at != nil {
		k.ReauthAt = at.Value
	}
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks a cursor and returns the ExclusiveStartKey it stands
// for (nil for "").
func decodeCursor(cursor string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := fmt.Errorf("%w: the cursor is not one a listing returned", ErrInvalidListing)
	if len(cursor) > 1024 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var k cursorKey
	if err := dec.Decode(&k); err != nil || dec.More() {
		return nil, bad
	}
	id, ok := strings.CutPrefix(k.PK, "conn#")
	if !ok || !connid.Valid(id) {
		return nil, bad
	}
	if n, err := strconv.ParseInt(k.ReauthAt, 10, 64); err != nil || n < 0 || strconv.FormatInt(n, 10) != k.ReauthAt {
		return nil, bad
	}
	return map[string]types.AttributeValue{
		"pk":          &types.AttributeValueMemberS{Value: k.PK},
		statusKeyAttr: &types.AttributeValueMemberS{Value: string(StatusReauthRequired)},
		"reauth_at":   &types.AttributeValueMemberN{Value: k.ReauthAt},
	}, nil
}
