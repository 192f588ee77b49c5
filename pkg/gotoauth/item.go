package gotoauth

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// connItem is a connection as the table holds it, under pk "conn#" + its
// id (DESIGN.md "DynamoDB items"). Tokens are sealed (enc:v1:... with a
// cipher, plain without); times are Unix seconds. The fields after the
// identity are the refresher's bookkeeping: omitted when zero, so that
// SaveConnection does not write them.
type connItem struct {
	ConnectionID          string `dynamodbav:"connection_id"`
	Status                Status `dynamodbav:"status"`
	AccessToken           string `dynamodbav:"access_token"`
	RefreshToken          string `dynamodbav:"refresh_token"`
	AccessTokenExpiresAt  int64  `dynamodbav:"access_token_expires_at"`
	RefreshTokenExpiresAt int64  `dynamodbav:"refresh_token_expires_at"`
	ConnectedAt           int64  `dynamodbav:"connected_at"`
	RefreshedAt           int64  `dynamodbav:"refreshed_at"`
	DueShard              string `dynamodbav:"due_shard,omitempty"`
	NextRefreshAt         int64  `dynamodbav:"next_refresh_at"`
	Identity

	ReauthReason   string `dynamodbav:"reauth_reason,omitempty"`
	FailureCount   int    `dynamodbav:"failure_count,omitempty"`
	LastError      string `dynamodbav:"last_error,omitempty"`
	ImportedAt     int64  `dynamodbav:"imported_at,omitempty"`
	Version        int64  `dynamodbav:"version,omitempty"`
	LeaseOwner     string `dynamodbav:"lease_owner,omitempty"`
	LeaseExpiresAt int64  `dynamodbav:"lease_expires_at,omitempty"`
}

// revisionItem is what a write returns of a connection: its revision.
type revisionItem struct {
	Version int64 `dynamodbav:"version"`
}

// identityAttrs are the item attributes of Identity's fields.
var identityAttrs = func() []string {
	t := reflect.TypeFor[Identity]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("dynamodbav"), ",")
		names = append(names, name)
	}
	return names
}()

// decode turns a connection item into a Connection, decrypting its tokens.
func (s *Store) decode(ctx context.Context, item map[string]types.AttributeValue) (*Connection, error) {
	var it connItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("gotoauth: unreadable connection item: %w", err)
	}
	c := &Connection{
		ConnectionID:          it.ConnectionID,
		Status:                it.Status,
		AccessTokenExpiresAt:  fromUnix(it.AccessTokenExpiresAt),
		RefreshTokenExpiresAt: fromUnix(it.RefreshTokenExpiresAt),
		ConnectedAt:           fromUnix(it.ConnectedAt),
		RefreshedAt:           fromUnix(it.RefreshedAt),
		Identity:              it.Identity,
		NextRefreshAt:         fromUnix(it.NextRefreshAt),
		ReauthReason:          it.ReauthReason,
		FailureCount:          it.FailureCount,
		LastError:             it.LastError,
		ImportedAt:            fromUnix(it.ImportedAt),
		Revision:              it.Version,
		leaseOwner:            it.LeaseOwner,
		leaseExpiresAt:        fromUnix(it.LeaseExpiresAt),
	}
	_, c.failing = item[failingAttr]
	var err error
	if c.AccessToken, err = s.open(ctx, it.AccessToken, c.ConnectionID); err != nil {
		return nil, err
	}
	if c.RefreshToken, err = s.open(ctx, it.RefreshToken, c.ConnectionID); err != nil {
		return nil, err
	}
	return c, nil
}

// revision reads the revision out of the attributes a write returned.
func revision(attrs map[string]types.AttributeValue) int64 {
	var r revisionItem
	_ = attributevalue.UnmarshalMap(attrs, &r) // a missing or odd version reads as 0
	return r.Version
}

// setItem sets every attribute v marshals to (a tagged struct).
func setItem(upd expression.UpdateBuilder, v any) (expression.UpdateBuilder, error) {
	attrs, err := attributevalue.MarshalMap(v)
	if err != nil {
		return upd, fmt.Errorf("gotoauth: encoding the connection item: %w", err)
	}
	for name, av := range attrs {
		upd = upd.Set(expression.Name(name), expression.Value(av))
	}
	return upd, nil
}

// setIdentity sets the identity fields that are not empty. With
// removeMissing, the empty ones are removed (a new consent may be another
// GoTo account).
func setIdentity(upd expression.UpdateBuilder, id Identity, removeMissing bool) expression.UpdateBuilder {
	attrs, _ := attributevalue.MarshalMap(id) // strings only: it cannot fail
	for _, name := range identityAttrs {
		switch av, ok := attrs[name]; {
		case ok:
			upd = upd.Set(expression.Name(name), expression.Value(av))
		case removeMissing:
			upd = upd.Remove(expression.Name(name))
		}
	}
	return upd
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
