package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
)

// BenchmarkWarmPath counts, at the endpoints, what warm invocations of the
// real bootstraps under the emulator cost: Secrets Manager reads over
// BENCH_WARM_INVOCATIONS warm invocations of authorize (and of callback),
// and the DynamoDB and GoTo calls of the refresh function per connection
// refreshed by a scheduled sweep of BENCH_WARM_REFRESHES due connections.
func BenchmarkWarmPath(b *testing.B) {
	bs := getBootstraps(b)
	s := newSite(b)
	direct := s.app(b, s.db, secrets.Static{S: s.secrets}, nil)
	start := func(id string) *invoke.Emulator {
		em, err := invoke.Start(context.Background(), invoke.Options{RIE: bs.rie, Bootstrap: bs.path[id], Env: s.env(b, id)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { em.Close() })
		return em
	}
	call := func(em *invoke.Emulator, event any) []byte {
		body, _ := json.Marshal(event)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := em.Invoke(ctx, body)
		if err != nil {
			b.Fatal(err)
		}
		if typ, msg, ok := invoke.FunctionError(resp); ok {
			b.Fatalf("function error %s: %s", typ, msg)
		}
		return resp
	}
	b.ResetTimer()

	// Secrets Manager reads of the connect functions.
	t := &table{head: []string{"Function", "Warm invocations", "Took", "Secrets Manager reads (cold start)", "Reads during the warm invocations", "Target", "DynamoDB calls per invocation", "Warm invocation p50 (through the emulator)"}}
	for _, fn := range []struct {
		id     string
		n      int
		event  func(i int) any
		status int
	}{
		{"AuthorizeFunction", warmInvocations, func(i int) any { return authorizeEvent(b, fmt.Sprintf("warm-auth-%05d", i)) }, http.StatusFound},
		{"CallbackFunction", max(1, warmInvocations/5), func(i int) any { return callbackEvent(b, direct, s.goTo, fmt.Sprintf("warm-cb-%05d", i)) }, http.StatusFound},
	} {
		em := start(fn.id)
		sm0 := s.sm.Calls()
		checkHTTP(b, fn.id, call(em, fn.event(-1)), fn.status)
		cold := s.sm.Calls() - sm0
		events := make([]any, fn.n)
		for i := range events {
			events[i] = fn.event(i)
		}
		sm1, ddb1 := s.sm.Calls(), len(s.ddbM.all().ops)
		lat := make([]time.Duration, 0, fn.n)
		t0 := time.Now()
		for _, ev := range events {
			t1 := time.Now()
			checkHTTP(b, fn.id, call(em, ev), fn.status)
			lat = append(lat, time.Since(t1))
		}
		took := time.Since(t0)
		warm := s.sm.Calls() - sm1
		ddbPer := float64(len(s.ddbM.all().ops)-ddb1) / float64(fn.n)
		// The cache lives DefaultTTL: a run longer than that may read once
		// more per TTL.
		allowed := int(took / secrets.DefaultTTL)
		t.add(fn.id, fn.n, took.Round(time.Millisecond), cold, warm,
			fmt.Sprintf("≤ %d (1 per %s cache lifetime): %s", allowed, secrets.DefaultTTL, verdict(cold == 1 && warm <= allowed)),
			fmt.Sprintf("%.2f", ddbPer), ms(percentile(lat, 50)))
		b.ReportMetric(float64(warm)*1000/float64(fn.n), "sm-reads-per-1000-warm-"+strings.TrimSuffix(fn.id, "Function"))
	}

	// The refresh function: scheduled sweeps of due connections.
	k := warmRefreshes
	em := start("RefreshFunction")
	rt := &table{head: []string{"Run", "Refreshed", "Secrets Manager reads", "DynamoDB calls", "per connection (without the due-index read)", "Target ≤ 3", "GoTo calls per connection", "Target = 1"}}
	for run, name := range []string{"cold", "warm"} {
		ids := make([]string, k)
		for i := range ids {
			ids[i] = fmt.Sprintf("warm-refresh-%d-%04d", run, i)
			resp, err := direct.Callback(context.Background(), callbackEvent(b, direct, s.goTo, ids[i]))
			if err != nil || resp.StatusCode != http.StatusFound {
				b.Fatalf("connecting %s: %v %d", ids[i], err, resp.StatusCode)
			}
		}
		makeDueNow(b, s.db, s.table, ids)
		sm0, goTo0, ops0 := s.sm.Calls(), s.goTo.RefreshRequests(), len(s.ddbM.all().ops)
		raw := call(em, map[string]any{"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
			"time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1", "resources": []string{}, "detail": map[string]any{}})
		var sum refresh.Summary
		if err := json.Unmarshal(raw, &sum); err != nil || sum.Refreshed != k || sum.Due != k {
			b.Fatalf("refresh run: %s", raw)
		}
		ops := s.ddbM.all().ops[ops0:]
		count := map[string]int{}
		for _, op := range ops {
			count[op]++
		}
		perConn := float64(len(ops)-count["Query"]) / float64(k)
		goToPer := float64(s.goTo.RefreshRequests()-goTo0) / float64(k)
		rt.add(name, k, s.sm.Calls()-sm0, opsList(count), fmt.Sprintf("%.2f", perConn), verdict(perConn <= 3),
			fmt.Sprintf("%.2f", goToPer), verdict(goToPer == 1))
		b.ReportMetric(perConn, "ddb-calls-per-refresh")
		b.ReportMetric(goToPer, "goto-calls-per-refresh")
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	writeFragment(b, "30-warmpath", "### 3. Warm path (counted at the endpoints)\n\n"+
		"The real bootstraps under the emulator, one execution environment each; Secrets Manager is a fake behind the SDK's real client, "+
		"DynamoDB Local and gototest are behind counting proxies.\n\n"+t.String()+
		"\nThe refresh function on its schedule (an EventBridge event), sweeping connections made due just before; the first run is its cold start.\n\n"+
		rt.String())
}

// makeDueNow moves the connections' next refresh into the past.
func makeDueNow(tb testing.TB, db *dynamodb.Client, table string, ids []string) {
	tb.Helper()
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	for _, id := range ids {
		_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName: &table, Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#" + id}},
			UpdateExpression:          aws.String("SET next_refresh_at = :p"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberN{Value: past}},
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func opsList(count map[string]int) string {
	var parts []string
	for _, op := range []string{"Query", "GetItem", "PutItem", "UpdateItem", "DeleteItem"} {
		if c := count[op]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", op, c))
		}
	}
	return strings.Join(parts, ", ")
}
