package gotoauth_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func store(t testing.TB, db dynamo.Client, table string, opts ...gotoauth.StoreOption) *gotoauth.Store {
	t.Helper()
	s, err := gotoauth.NewStore(db, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Two processes with a shared limiter each, on one table, together make at
// most Rate calls in any one-second window.
func TestSharedLimiterHoldsAcrossProcesses(t *testing.T) {
	db, table := testutil.Table(t)
	const rate, calls = 10, 36
	procs := []tuning.Limiter{
		gotoauth.NewSharedLimiter(store(t, db, table), "client-a", rate),
		gotoauth.NewSharedLimiter(store(t, db, table), "client-a", rate),
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(l tuning.Limiter) {
			defer wg.Done()
			for j := 0; j < calls/6; j++ {
				if err := l.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}(procs[i%2])
	}
	wg.Wait()
	// The windows as the table counted them.
	total, windows := 0, 0
	for _, item := range testutil.Items(t, db, table) {
		if !strings.HasPrefix(testutil.S(item, "pk"), "rate#client-a#") {
			continue
		}
		n, _ := strconv.Atoi(testutil.N(item, "calls"))
		if n > rate {
			t.Fatalf("%d calls in window %s, limit %d", n, testutil.S(item, "pk"), rate)
		}
		if testutil.N(item, "ttl") == "" {
			t.Fatal("window item without ttl")
		}
		total += n
		windows++
	}
	if total != calls || windows < calls/rate {
		t.Fatalf("%d calls over %d windows", total, windows)
	}
	// Another name is another limit: client-b's call is counted in a window
	// of its own, and client-a's windows are untouched.
	other := gotoauth.NewSharedLimiter(store(t, db, table), "client-b", rate)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := other.Wait(ctx); err != nil {
		t.Fatalf("client-b: %v", err)
	}
	a, b := 0, 0
	for _, item := range testutil.Items(t, db, table) {
		n, _ := strconv.Atoi(testutil.N(item, "calls"))
		switch pk := testutil.S(item, "pk"); {
		case strings.HasPrefix(pk, "rate#client-a#"):
			a += n
		case strings.HasPrefix(pk, "rate#client-b#"):
			b += n
		}
	}
	if a != calls || b != 1 {
		t.Fatalf("after client-b's call: client-a counted %d (want %d), client-b %d (want 1)", a, calls, b)
	}
}
