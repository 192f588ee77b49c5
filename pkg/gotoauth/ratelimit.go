package gotoauth

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/time/rate"
)

// Limiter paces calls to GoTo's token endpoint. A *rate.Limiter (from
// golang.org/x/time/rate) is one, for one process; SharedLimiter holds one
// limit for every process that shares a table.
type Limiter interface {
	// Wait blocks until a call may go out, or ctx ends.
	Wait(ctx context.Context) error
}

// Limiters returns a Limiter that waits for each of ls in turn: typically a
// *rate.Limiter that spreads this process's calls evenly, then a
// SharedLimiter that keeps all processes together under GoTo's limit.
func Limiters(ls ...Limiter) Limiter { return limiters(ls) }

type limiters []Limiter

func (ls limiters) Wait(ctx context.Context) error {
	for _, l := range ls {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// SharedLimiter allows at most Rate calls per second to GoTo across every
// process that uses the same table and Name: the scheduled sweep and the
// SaaS backends' on-demand refreshes together (REFRESH_RATE_LIMIT). Each
// call takes a slot in a per-second window item with a conditional write; a
// caller that finds the window full waits for the next one. Window items
// expire by TTL.
//
// Windows are wall-clock seconds (or longer, for rates under one per
// second), so calls can bunch at a window's edges; put a *rate.Limiter in
// front (see Limiters) to spread them.
type SharedLimiter struct {
	Store *Store
	// Name tells apart limits in one table; GoTo's limit is per OAuth
	// client, so the client id is a good name.
	Name string
	// Rate is the number of calls per second, all processes together.
	Rate float64
}

// Wait takes a slot in the current window, waiting for a later window while
// the current one is full.
func (l *SharedLimiter) Wait(ctx context.Context) error {
	window, capacity := l.shape()
	for {
		now := time.Now()
		start := now.Truncate(window)
		ok, err := l.Store.takeSlot(ctx, l.Name, start, capacity)
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
func (l *SharedLimiter) shape() (time.Duration, int) {
	switch {
	case l.Rate <= 0:
		return time.Second, 1
	case l.Rate < 1:
		return time.Duration(math.Ceil(1/l.Rate)) * time.Second, 1
	default:
		return time.Second, int(l.Rate)
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
		return false, fmt.Errorf("gotoauth: taking a rate limit slot: %w", err)
	}
	return true, nil
}

func ptr(s string) *string { return &s }

// NewRateLimit returns the connector's limiter for perSecond calls to GoTo
// (REFRESH_RATE_LIMIT): this process's calls spread evenly by a token bucket
// (burst 1), and all processes sharing store's table held together under the
// same limit by a SharedLimiter named name (the OAuth client id).
func NewRateLimit(store *Store, name string, perSecond float64) Limiter {
	return Limiters(
		rate.NewLimiter(rate.Limit(perSecond), 1),
		&SharedLimiter{Store: store, Name: name, Rate: perSecond},
	)
}
