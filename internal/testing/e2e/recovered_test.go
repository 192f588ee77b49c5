package e2e_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// TestRefreshFailingThenRecovered: GoTo fails the refreshes of one
// connection six times in a row (the refresh function announces
// connection.refresh_failing), then answers again: the next refresh
// announces connection.recovered, and later refreshes announce nothing.
// Each is seen exactly once on EventBridge, in that order.
func TestRefreshFailingThenRecovered(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const id = "e2e-recovering-1"
	s.connectByBrowser(id)

	force := map[string]any{"connection_ids": []string{id}, "force": true}
	s.goTo.FailNext(6, gototest.ServerError(503))
	for i := 1; i <= 6; i++ {
		if sum := s.refresh(force); sum.Failed != 1 || sum.Refreshed != 0 {
			t.Fatalf("refresh %d while GoTo fails: %+v", i, sum)
		}
	}
	if c := s.connection(id); c["failure_count"] != "6" || c["refresh_failing_at"] == "" {
		t.Fatalf("after six failures: failure_count %q, refresh_failing_at %q", c["failure_count"], c["refresh_failing_at"])
	}
	for i := 1; i <= 2; i++ {
		if sum := s.refresh(force); sum.Refreshed != 1 {
			t.Fatalf("refresh %d once GoTo answers: %+v", i, sum)
		}
	}
	if c := s.connection(id); c["failure_count"] != "" || c["refresh_failing_at"] != "" {
		t.Fatalf("after recovering: failure_count %q, refresh_failing_at %q", c["failure_count"], c["refresh_failing_at"])
	}

	var types []string
	for _, e := range s.events.Entries() {
		types = append(types, e.DetailType)
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatalf("detail %q: %v", e.Detail, err)
		}
		if d["connection_id"] != id || d["status"] != "active" || d["at"] == nil {
			t.Errorf("%s detail %v", e.DetailType, d)
		}
		if e.DetailType == "connection.refresh_failing" && d["reason"] != "server_error" {
			t.Errorf("refresh_failing without GoTo's failure as reason: %v", d)
		}
	}
	if want := []string{"connection.connected", "connection.refresh_failing", "connection.recovered"}; !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
}
