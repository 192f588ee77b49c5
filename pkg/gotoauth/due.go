package gotoauth

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dueConnections calls fn with the id of every active connection whose next
// refresh is due at now, read from the due index (never a table scan), all
// shards in parallel. It stops early when fn returns false or ctx is done.
func (s *Store) dueConnections(ctx context.Context, now time.Time, fn func(id string) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, dueShards)
	ids := make(chan string)
	for shard := 0; shard < dueShards; shard++ {
		go func(shard string) {
			errs <- s.queryDue(ctx, shard, now, ids)
		}(fmt.Sprintf("due#%02d", shard))
	}
	var firstErr error
	for running := dueShards; running > 0; {
		select {
		case id := <-ids:
			if !fn(id) {
				cancel()
			}
		case err := <-errs:
			running--
			if err != nil && firstErr == nil && ctx.Err() == nil {
				firstErr = err
				cancel()
			}
		}
	}
	if firstErr == nil && ctx.Err() != nil && context.Cause(ctx) != context.Canceled {
		firstErr = ctx.Err()
	}
	return firstErr
}

func (s *Store) queryDue(ctx context.Context, shard string, now time.Time, ids chan<- string) error {
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String(dueIndex),
		KeyConditionExpression: aws.String("due_shard = :s AND next_refresh_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: shard},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return storeError("reading the due index", err)
		}
		for _, item := range page.Items {
			pk, _ := item["pk"].(*types.AttributeValueMemberS)
			if pk == nil || len(pk.Value) <= len("conn#") {
				continue
			}
			select {
			case ids <- pk.Value[len("conn#"):]:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

// dueIndex is the name of the global secondary index of due connections.
const dueIndex = "due"
