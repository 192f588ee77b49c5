package gotoauth

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// dueConnections calls fn with every active connection whose next refresh
// is due at now (its id and next_refresh_at), read from the due index
// (never a table scan), all shards in parallel. It stops early when fn
// returns false or ctx is done.
func (s *Store) dueConnections(ctx context.Context, now time.Time, fn func(schedule.Due) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, dueShards)
	due := make(chan schedule.Due)
	for shard := 0; shard < dueShards; shard++ {
		go func(shard string) {
			errs <- s.queryDue(ctx, shard, now, due)
		}(fmt.Sprintf("due#%02d", shard))
	}
	var firstErr error
	for running := dueShards; running > 0; {
		select {
		case d := <-due:
			if !fn(d) {
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

func (s *Store) queryDue(ctx context.Context, shard string, now time.Time, due chan<- schedule.Due) error {
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
			d := schedule.Due{ID: pk.Value[len("conn#"):]}
			if n, ok := item["next_refresh_at"].(*types.AttributeValueMemberN); ok {
				if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
					d.NextRefreshAt = time.Unix(v, 0)
				}
			}
			select {
			case due <- d:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

// dueIndex is the name of the global secondary index of due connections.
const dueIndex = "due"

// tableDescriber is the DynamoDB client's DescribeTable, which the Store
// uses when its client has it (*dynamodb.Client does).
type tableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// indexedConnections is how many connections the due index holds: every
// active connection, and no other item. DynamoDB updates the count about
// every six hours (DynamoDB Local at once); it costs no read units. It is
// 0 when the client cannot describe tables.
func (s *Store) indexedConnections(ctx context.Context) (int, error) {
	d, ok := s.db.(tableDescriber)
	if !ok {
		return 0, nil
	}
	out, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		return 0, storeError("describing the table", err)
	}
	if out.Table != nil {
		for _, ix := range out.Table.GlobalSecondaryIndexes {
			if ix.IndexName != nil && *ix.IndexName == dueIndex && ix.ItemCount != nil {
				return int(*ix.ItemCount), nil
			}
		}
	}
	return 0, fmt.Errorf("gotoauth: table %s has no %s index", s.table, dueIndex)
}

// expiryReaders is how many reads of refresh-token expiries run at once.
const expiryReaders = 16

// fillExpiries reads the refresh-token expiry of every connection of due
// (the due index projects keys only): one eventually consistent GetItem
// each, projected to that one attribute. The sweep does it only when more
// is due than it can refresh, to choose the most urgent. A read that fails
// leaves the expiry unknown (such a connection goes after the known ones).
func (s *Store) fillExpiries(ctx context.Context, due []schedule.Due) {
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < expiryReaders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
					TableName:            &s.table,
					Key:                  connKey(due[i].ID),
					ProjectionExpression: aws.String("refresh_token_expires_at"),
				})
				if err != nil || out.Item == nil {
					continue
				}
				if n, ok := out.Item["refresh_token_expires_at"].(*types.AttributeValueMemberN); ok {
					if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil && v > 0 {
						due[i].RefreshExpiry = time.Unix(v, 0)
					}
				}
			}
		}()
	}
	for i := range due {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
}
