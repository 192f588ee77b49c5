package gotoauth

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"golang.org/x/time/rate"
)

// rateLimit is WithRateLimit's request, built once the store is known.
type rateLimit struct{ perSecond float64 }

func (rateLimit) Wait(context.Context) error { return nil }

// newRateLimit returns the connector's limiter for perSecond calls to GoTo
// (REFRESH_RATE_LIMIT): this process's calls spread evenly by a token bucket
// (burst 1), and all processes sharing store's table held together under the
// same limit by a sharedLimiter named name (the OAuth client id).
func newRateLimit(store *Store, name string, perSecond float64) tuning.Limiter {
	return limiters{
		rate.NewLimiter(rate.Limit(perSecond), 1),
		&sharedLimiter{store: store, name: name, rate: perSecond},
	}
}

// limiters waits for each limiter in turn.
type limiters []tuning.Limiter

func (ls limiters) Wait(ctx context.Context) error {
	for _, l := range ls {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// isRateWaitTooLong reports the error of rate.Limiter.Wait when the wait
// would outlast ctx's deadline: the deadline's doing, not a failure.
func isRateWaitTooLong(err error) bool {
	return err != nil && strings.Contains(err.Error(), "would exceed context deadline")
}

// sharedLimiter allows at most rate calls per second to GoTo across every
// process that uses the same table and name: the scheduled sweep and the
// SaaS backends' on-demand refreshes together (REFRESH_RATE_LIMIT). Each
// call takes a slot in a per-second window item with a conditional write; a
// caller that finds the window full waits for the next one. Window items
// expire by TTL.
//
// Windows are wall-clock seconds (or longer, for rates under one per
// second), so calls can bunch at a window's edges; the token bucket in
// front spreads them.
type sharedLimiter struct {
	store *Store
	name  string
	rate  float64
}

// Wait takes a slot in the current window, waiting for a later window while
// the current one is full.
func (l *sharedLimiter) Wait(ctx context.Context) error {
	window, capacity := l.shape()
	for {
		now := time.Now()
		start := now.Truncate(window)
		ok, err := l.store.takeSlot(ctx, l.name, start, capacity)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		t := time.NewTimer(start.Add(window).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// shape returns the window length and how many calls fit in one.
func (l *sharedLimiter) shape() (time.Duration, int) {
	switch {
	case l.rate <= 0:
		return time.Second, 1
	case l.rate < 1:
		return time.Duration(math.Ceil(1/l.rate)) * time.Second, 1
	default:
		return time.Second, int(l.rate)
	}
}

// takeSlot counts one call in the window starting at start, if fewer than
// capacity were counted there.
func (s *Store) takeSlot(ctx context.Context, name string, start time.Time, capacity int) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("rate#%s#%d", name, start.UnixMilli())},
		},
		UpdateExpression:    ptr("ADD calls :one SET #ttl = :ttl"),
		ConditionExpression: ptr("attribute_not_exists(calls) OR calls < :cap"),
		ExpressionAttributeNames: map[string]string{
			"#ttl": "ttl",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":cap": &types.AttributeValueMemberN{Value: strconv.Itoa(capacity)},
			":ttl": &types.AttributeValueMemberN{Value: strconv.FormatInt(start.Add(time.Hour).Unix(), 10)},
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, storeError("taking a rate limit slot", err)
	}
	return true, nil
}

func ptr(s string) *string { return &s }
