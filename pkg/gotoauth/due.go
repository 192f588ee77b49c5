package gotoauth

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// dueConnections calls fn with every active connection whose next refresh
// is due at now (its id and next_refresh_at), read from the due index
// (never a table scan), the oldest next_refresh_at first across all shards
// (ties by id): a merge of the shards' queries, whose first pages are read
// in parallel. want, when positive, is about how many fn takes: each page
// holds a share of it, so that a sweep reading DueReadLimit of a large
// backlog reads little more than that. It stops early when fn returns
// false or ctx is done.
func (s *Store) dueConnections(ctx context.Context, now time.Time, want int, fn func(schedule.Due) bool) error {
	var page int32
	if want > 0 {
		page = int32(min(want/dueShards+want/(4*dueShards)+16, 10_000))
	}
	shards := make([]*shardReader, dueShards)
	var g errgroup.Group
	for i := range shards {
		shards[i] = s.newShardReader(fmt.Sprintf("due#%02d", i), now, page)
		g.Go(func() error { return shards[i].fill(ctx) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	h := dueHeap{}
	for _, sh := range shards {
		if len(sh.buf) > 0 {
			h = append(h, sh)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		sh := h[0]
		d := sh.buf[0]
		sh.buf = sh.buf[1:]
		if len(sh.buf) == 0 {
			if err := sh.fill(ctx); err != nil {
				return err
			}
		}
		if len(sh.buf) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if !fn(d) {
			return nil
		}
	}
	return ctx.Err()
}

// shardReader is one shard's query of the due index, read a page at a time:
// buf holds the page's connections not yet merged.
type shardReader struct {
	p   *dynamodb.QueryPaginator
	buf []schedule.Due
}

func (s *Store) newShardReader(shard string, now time.Time, page int32) *shardReader {
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String(dueIndex),
		KeyConditionExpression: aws.String("due_shard = :s AND next_refresh_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: shard},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	}
	if page > 0 {
		in.Limit = &page
	}
	return &shardReader{p: dynamodb.NewQueryPaginator(s.db, in)}
}

// fill reads the shard's next pages until one holds a connection or there
// are none left.
func (sh *shardReader) fill(ctx context.Context) error {
	for len(sh.buf) == 0 && sh.p.HasMorePages() {
		page, err := sh.p.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
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
			sh.buf = append(sh.buf, d)
		}
	}
	return nil
}

// dueHeap orders the shards by their next connection: the oldest
// next_refresh_at, then the smallest id (the index's order within a
// shard is next_refresh_at only).
type dueHeap []*shardReader

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	a, b := h[i].buf[0], h[j].buf[0]
	if !a.NextRefreshAt.Equal(b.NextRefreshAt) {
		return a.NextRefreshAt.Before(b.NextRefreshAt)
	}
	return a.ID < b.ID
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(*shardReader)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
