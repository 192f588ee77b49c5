package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/ops"
	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// Reencrypt rewrites connection id's tokens in the format every write of
// the store uses (enc:kms1: with a KMS cipher, else enc:v1: under the
// token cipher's active key) when either is in another format, under
// another key or stored plain, and reports
// whether it wrote. The tokens themselves do not change: the write is
// conditional on the stored values being still those it read, and leaves
// the connection's write counter alone, so a refresh in flight is neither
// overwritten nor made stale.
func (s *Store) Reencrypt(ctx context.Context, id string) (bool, error) {
	if s.cipher == nil && s.kms == nil {
		return false, ErrNoActiveKey
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            connKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("gotoauth: reading connection: %w", err)
	}
	if out.Item == nil {
		return false, ErrNotFound
	}
	var active string
	if s.kms != nil {
		active = kmsPrefix
	} else {
		active = encPrefix + s.cipher.active + ":"
	}
	upd := expression.UpdateBuilder{}
	cond := expression.AttributeExists(expression.Name("pk"))
	changed := false
	for _, k := range []string{"access_token", "refresh_token"} {
		v, _ := out.Item[k].(*types.AttributeValueMemberS)
		if v == nil || v.Value == "" || strings.HasPrefix(v.Value, active) {
			continue
		}
		plain, err := s.open(ctx, v.Value, id)
		if err != nil {
			return false, err
		}
		sealed, err := s.seal(ctx, plain, id)
		if err != nil {
			return false, err
		}
		upd = upd.Set(expression.Name(k), expression.Value(sealed))
		cond = cond.And(expression.Name(k).Equal(expression.Value(v.Value)))
		changed = true
	}
	if !changed {
		return false, nil
	}
	if _, err := s.update(ctx, id, upd, cond, types.ReturnValueNone); err != nil {
		if isConditionFailed(err) {
			// Written meanwhile (a refresh, a reconnect): under the
			// active key, since every write uses it.
			return false, nil
		}
		return false, fmt.Errorf("gotoauth: re-encrypting connection: %w", err)
	}
	return true, nil
}

// ReencryptAll re-encrypts every connection that has a refresh schedule
// (all but those waiting for the customer to connect again, whose tokens
// are dead), found through the due index, never a table scan. Run it after
// adding a new key and making it active, with a cipher that still has the
// old keys, or after turning KMS on (WithKMSCipher beside the old token
// cipher): once it reports no failure, the old keys can be removed.
// workers bounds the concurrent connections (at least 1).
func (s *Store) ReencryptAll(ctx context.Context, workers int) (ops.ReencryptSummary, error) {
	sum := ops.ReencryptSummary{Failed: map[string]string{}}
	if s.cipher == nil && s.kms == nil {
		return sum, ErrNoActiveKey
	}
	if workers < 1 {
		workers = 1
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	farFuture := time.Unix(math.MaxInt32, 0)
	err := s.dueConnections(ctx, farFuture, 0, func(d schedule.Due) bool {
		id := d.ID
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			changed, err := s.Reencrypt(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			sum.Seen++
			switch {
			case errors.Is(err, ErrNotFound):
				// Deleted meanwhile: nothing to re-encrypt.
			case err != nil:
				sum.Failed[id] = err.Error()
			case changed:
				sum.Reencrypted++
			}
		}()
		return ctx.Err() == nil
	})
	wg.Wait()
	return sum, err
}
