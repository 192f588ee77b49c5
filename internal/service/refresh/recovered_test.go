package refresh_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// eventLog collects the lifecycle events of any number of token sources.
type eventLog struct {
	mu     sync.Mutex
	events []gotoauth.Event
}

func (l *eventLog) sink() gotoauth.Option {
	return gotoauth.WithEvents(gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.events = append(l.events, e)
		return nil
	}))
}

func (l *eventLog) count(typ string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// A connection announced refresh_failing is announced recovered by its
// next successful refresh, once, however many refreshers refresh it
// afterwards; the mark is gone from the item.
func TestRecoveredOnceAfterRefreshFailing(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	var log eventLog
	s := w.sweeper(log.sink())
	w.GoTo.FailAlways(gototest.ServerError(503))
	w.Clock.Advance(25 * time.Hour)
	for i := 0; i < 7; i++ { // the 6th failure in a row announces it
		if sum := w.sweep(s); sum.Failed != 1 {
			t.Fatalf("failure %d: %+v", i+1, sum)
		}
		w.Clock.Advance(w.Stored("c1").NextRefreshAt.Sub(w.Clock.Now()))
	}
	if n := log.count(gotoauth.EventRefreshFailing); n != 1 {
		t.Fatalf("%d refresh_failing events after 7 failures, want 1", n)
	}
	if testutil.N(w.Item("c1"), "refresh_failing_at") == "" {
		t.Fatal("the item carries no refresh_failing mark")
	}
	if log.count(gotoauth.EventRecovered) != 0 {
		t.Fatal("recovered announced while failing")
	}

	// GoTo is back: several refreshers at once, and again later.
	w.GoTo.StopFailing()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		ts := w.source(log.sink())
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts.Refresh(context.Background(), "c1", true)
		}()
	}
	wg.Wait()
	if r := w.source(log.sink()).Refresh(context.Background(), "c1", true); r.Outcome != sweep.Refreshed {
		t.Fatalf("a later refresh: %s %v", r.Outcome, r.Err)
	}
	if n := log.count(gotoauth.EventRecovered); n != 1 {
		t.Fatalf("%d recovered events, want 1", n)
	}
	if _, ok := w.Item("c1")["refresh_failing_at"]; ok {
		t.Fatal("the refresh_failing mark survived the successful refresh")
	}
	for _, e := range log.events {
		if e.Type == gotoauth.EventRecovered && (e.ConnectionID != "c1" || e.Status != gotoauth.StatusActive || e.Principal == "") {
			t.Fatalf("recovered event %+v", e)
		}
	}
	if c := w.Stored("c1"); c.FailureCount != 0 || c.Revision < 2 {
		t.Fatalf("after recovery: failures %d, revision %d", c.FailureCount, c.Revision)
	}

	// A new episode is announced again, and so is its end.
	w.GoTo.FailAlways(gototest.ServerError(503))
	for i := 0; i < 6; i++ {
		w.source(log.sink()).Refresh(context.Background(), "c1", true)
	}
	w.GoTo.StopFailing()
	w.source(log.sink()).Refresh(context.Background(), "c1", true)
	if f, r := log.count(gotoauth.EventRefreshFailing), log.count(gotoauth.EventRecovered); f != 2 || r != 2 {
		t.Fatalf("second episode: %d refresh_failing, %d recovered, want 2 and 2", f, r)
	}
}

// A connection that failed a few times, fewer than announce it, recovers
// without an event.
func TestNoRecoveredWithoutRefreshFailing(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	var log eventLog
	w.GoTo.FailNext(3, gototest.ServerError(503))
	for i := 0; i < 4; i++ {
		w.source(log.sink()).Refresh(context.Background(), "c1", true)
	}
	if c := w.Stored("c1"); c.FailureCount != 0 || log.count(gotoauth.EventRefreshFailing) != 0 || log.count(gotoauth.EventRecovered) != 0 {
		t.Fatalf("failures %d, events %+v", c.FailureCount, log.events)
	}
}
