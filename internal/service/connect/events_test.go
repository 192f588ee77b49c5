package connect_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// recorder is an EventSink that keeps what it is sent, and can fail.
type recorder struct {
	mu     sync.Mutex
	events []gotoauth.Event
	fail   bool
}

func (r *recorder) Publish(_ context.Context, e gotoauth.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.fail {
		return errors.New("the bus is down")
	}
	return nil
}

// A callback that stores a connection announces connection.connected with
// the stored identity and no token.
func TestCallbackPublishesConnected(t *testing.T) {
	e := newEnv(t, callbackHT, gototest.WithStyle(gototest.StyleLegacy))
	rec := &recorder{}
	e.app.Events = rec.Publish
	consentURL, cookie := e.start("cust-ev", returnTo)
	back, err := e.goto_.Approve(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.callback(back.RawQuery, cookie); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	if len(rec.events) != 1 {
		t.Fatalf("%d events, want 1", len(rec.events))
	}
	ev := rec.events[0]
	id := gototest.DefaultIdentity()
	if ev.Type != gotoauth.EventConnected || ev.ConnectionID != "cust-ev" || ev.Status != gotoauth.StatusActive ||
		ev.Email != id.Email || ev.AccountKey != id.AccountKey || !ev.At.Equal(e.clock.Now()) {
		t.Fatalf("event %+v", ev)
	}
	detail, _ := ev.MarshalJSON()
	c := e.connection("cust-ev")
	for _, k := range []string{"access_token", "refresh_token"} {
		if strings.Contains(string(detail), c[k]) {
			t.Errorf("the event holds %s", k)
		}
	}
}

// A bus that fails changes nothing: the browser still gets connected, the
// failure is logged.
func TestCallbackConnectsWhenPublishingFails(t *testing.T) {
	e := newEnv(t, callbackHT)
	e.app.Events = (&recorder{fail: true}).Publish
	consentURL, cookie := e.start("cust-ev2", returnTo)
	back, err := e.goto_.Approve(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.callback(back.RawQuery, cookie)
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Headers["Location"], "status=connected") {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Headers["Location"])
	}
	if e.connection("cust-ev2")["status"] != "active" {
		t.Fatal("the connection is not stored")
	}
	if !strings.Contains(e.logs.String(), "publishing a lifecycle event failed") {
		t.Fatalf("the failure is not logged:\n%s", e.logs.String())
	}
}
