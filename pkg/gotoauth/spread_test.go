package gotoauth_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/world"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// seqIDs is n connection ids: prefix and a four-digit number.
func seqIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return ids
}

func numAttr(t *testing.T, item map[string]types.AttributeValue, name string) int64 {
	t.Helper()
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("%s missing in %v", name, item)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// 1,000 connections created in one burst (the same second), refreshed by
// the real sweep once they are due, are planned so that no tenth of the
// interval holds more than twice its share (100 each on average).
func TestBurstIsSpreadAfterTheFirstRefresh(t *testing.T) {
	w := world.New(t)
	const n = 1000
	ids := seqIDs("burst-", n)
	w.Connect(ids...)
	w.Clock.Advance(24*time.Hour + time.Second)
	ts := w.Source(nil)
	skipped := map[string]string{}
	sum, err := ts.Sweep(context.Background(), sweep.Options{OnResult: func(r sweep.Result) {
		if r.Outcome == sweep.Skipped {
			skipped[r.ConnectionID] = r.Code
		}
	}})
	t.Logf("skipped: %v", skipped)
	if err != nil || sum.Refreshed != n {
		t.Fatalf("sweep: %+v, %v; want %d refreshed", sum, err, n)
	}
	now := w.Clock.Now().Unix()
	var tenths [10]int
	for _, id := range ids {
		next := numAttr(t, w.Item(id), "next_refresh_at")
		d := next - now
		if d <= 0 || d > 86400 {
			t.Fatalf("%s planned %d s after its refresh, want in (0, 86400]", id, d)
		}
		tenths[(d-1)*10/86400]++
	}
	for i, c := range tenths {
		if c > 2*n/10 {
			t.Errorf("tenth %d of the interval holds %d of %d refreshes (all: %v)", i, c, n, tenths)
		}
	}
	t.Logf("refreshes per tenth of the interval: %v", tenths)
}

// When more is due than the rate limit allows in the sweep's working time,
// the connections whose refresh tokens expire first are refreshed, the
// rest are deferred by the rate limit, and the summary reports the
// capacity and the smallest life left.
func TestSweepRefreshesMostUrgentFirst(t *testing.T) {
	w := world.New(t)
	order := []string{"u-a", "u-b", "u-c", "u-d", "u-e"} // oldest first: earliest expiry
	for _, id := range order {
		w.Connect(id)
		w.Clock.Advance(24 * time.Hour)
	}
	w.Clock.Advance(26 * time.Hour) // all due
	ts := w.Source([]gotoauth.Option{gotoauth.WithRateLimit(1)})
	// The sweep's reserve at the world's budgets is 10 s lease write + 1 s
	// connect + 5 s answer + 2 s store + 5 s margin = 23 s; 2.9 s more of
	// working time at 1 call a second is a capacity of 2. If this trips on
	// a loaded machine with deferred_deadline > 0, the two refreshes took
	// longer than 2.9 s to start: raise both the rate and the extra time.
	ctx, cancel := context.WithTimeout(context.Background(), 23*time.Second+2900*time.Millisecond)
	defer cancel()
	before := map[string]int64{}
	for _, id := range order {
		before[id] = numAttr(t, w.Item(id), "version")
	}
	sum, err := ts.Sweep(ctx, sweep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Due != 5 || sum.Refreshed != 2 || sum.Deferred != 3 || sum.DeferredRateLimit != 3 || sum.CapacityPerSweep != 2 {
		t.Fatalf("summary %+v: want 5 due, 2 refreshed, 3 deferred by the rate limit, capacity 2", sum)
	}
	for i, id := range order {
		changed := numAttr(t, w.Item(id), "version") != before[id]
		if changed != (i < 2) {
			t.Errorf("%s refreshed = %v, want %v (the two earliest expiries go first)", id, changed, i < 2)
		}
	}
	// gototest keeps refresh tokens (no rotation), so u-a, refreshed, still
	// has the least life left: connected 146 h before now, 720 h − 146 h.
	if want := int64((720 - 146) * 3600); sum.MinLifeLeftSeconds != want {
		t.Errorf("min life left %d s, want %d", sum.MinLifeLeftSeconds, want)
	}
}

// The sweep plans with the due index's item count (DescribeTable) and
// reports it as connections; when that is less than what the connections
// that came due within the last sweep period imply at the interval (each
// one stands for period ÷ interval of them), or when the client cannot
// describe tables, it plans with that.
func TestSweepPlansWithTheIndexCount(t *testing.T) {
	w := world.New(t)
	const n = 40
	ids := seqIDs("count-", n)
	w.Connect(ids...)
	var last int64
	for _, id := range ids {
		last = max(last, numAttr(t, w.Item(id), "next_refresh_at"))
	}
	w.Clock.Advance(time.Unix(last+1, 0).Sub(w.Clock.Now()))
	now := w.Clock.Now()
	fresh := 0
	for _, id := range ids {
		if next := time.Unix(numAttr(t, w.Item(id), "next_refresh_at"), 0); next.After(now.Add(-15 * time.Minute)) {
			fresh++
		}
	}
	flow := fresh * 96 // 24h ÷ 15 min
	if fresh == 0 {
		t.Fatal("no connection came due in the last sweep period")
	}

	// A client without DescribeTable: the flow alone.
	plain := w.DB
	w.DB = struct{ dynamo.Client }{plain}
	sum, err := w.Source(nil).Sweep(context.Background(), sweep.Options{})
	if err != nil || sum.Connections != flow {
		t.Fatalf("without DescribeTable: %+v, %v; want connections %d (%d due in the last 15 minutes × 96)", sum, err, flow, fresh)
	}
	// DynamoDB Local's count is exact, and larger once more connections
	// wait (none of them due).
	w.DB = plain
	w.Connect(seqIDs("more-", flow)...)
	sum, err = w.Source(nil).Sweep(context.Background(), sweep.Options{})
	if err != nil || sum.Connections != n+flow {
		t.Fatalf("with DescribeTable: %+v, %v; want connections %d (the due index's count)", sum, err, n+flow)
	}
}

// The sweep reads the due index the oldest next_refresh_at first across
// all 32 shards (ties by id), as the simulator does: of 1,600 due
// connections it reads exactly the 1,000 oldest, in order, whichever shard
// answers first.
func TestDueReadIsOldestFirstAcrossShards(t *testing.T) {
	w := world.New(t)
	now := time.Now().Truncate(time.Second)
	type conn struct {
		id   string
		next int64
	}
	conns := make([]conn, 1600)
	var g errgroup.Group
	g.SetLimit(32)
	for i := range conns {
		// next_refresh_at over the last 4,000 s, ties included, in an
		// order unrelated to the id and the shard.
		conns[i] = conn{id: fmt.Sprintf("order-%04d", i), next: now.Unix() - int64((i*7919)%4000)}
		c := conns[i]
		g.Go(func() error {
			_, err := w.Raw.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &w.Table, Item: map[string]types.AttributeValue{
				"pk":              &types.AttributeValueMemberS{Value: "conn#" + c.id},
				"due_shard":       &types.AttributeValueMemberS{Value: gotoauth.DueShard(c.id)},
				"next_refresh_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(c.next, 10)},
			}})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(conns, func(a, b conn) int { return cmp.Or(cmp.Compare(a.next, b.next), strings.Compare(a.id, b.id)) })
	got, err := gotoauth.DueIDs(w.Store(), now, 1000)
	if err != nil || len(got) != 1000 {
		t.Fatalf("read %d due connections, %v; want 1000", len(got), err)
	}
	for i, id := range got {
		if id != conns[i].id {
			t.Fatalf("due connection %d read is %s, want %s (next_refresh_at %d): the read is not the oldest first", i, id, conns[i].id, conns[i].next)
		}
	}
}
