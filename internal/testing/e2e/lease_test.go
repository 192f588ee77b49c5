package e2e_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// Two refresh functions running at once (two Lambda execution
// environments: a manual invocation during a sweep, or a retried
// invocation) force-refresh the same connection whose refresh tokens are
// single-use. The lease lets exactly one of them call GoTo; without it both
// would, and the second would get invalid_grant.
func TestLambdaConcurrentRefreshesShareOneLease(t *testing.T) {
	s := startStack(t, nil, gototest.WithSingleUseRefreshTokens())

	// A connection, stored as the callback stores it (encrypted).
	c := &gotoauth.Client{ClientID: s.goTo.ClientID, ClientSecret: s.goTo.ClientSecret, RedirectURL: redirectURI,
		Endpoint: gotoauth.Endpoint{AuthURL: s.goTo.AuthorizeURL(), TokenURL: s.goTo.TokenURL()}}
	back, err := s.goTo.Approve(c.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := gotoauth.NewStore(s.db, s.table, gotoauth.WithTokenCipher(s.cipher))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveConnection(context.Background(), "cust-lease", tok); err != nil {
		t.Fatal(err)
	}
	s.seen = append(s.seen, tok.AccessToken, tok.RefreshToken)
	// GoTo answers the refresh after 3 s, so the two invocations overlap
	// even when one bootstrap starts seconds after the other on a loaded
	// machine (a forced refresh that starts after the lease was released
	// refreshes again).
	s.goTo.FailNext(1, gototest.Slow(3*time.Second))

	event, _ := json.Marshal(map[string]any{"connection_ids": []string{"cust-lease"}, "force": true})
	emulators := []*invoke.Emulator{s.fns["RefreshFunction"], s.twin("RefreshFunction")}
	sums := make([]refresh.Summary, len(emulators))
	var wg sync.WaitGroup
	for i, em := range emulators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			raw, err := em.Invoke(ctx, event)
			if err != nil {
				t.Error(err)
				return
			}
			if err := json.Unmarshal(raw, &sums[i]); err != nil {
				t.Errorf("summary %s: %v", raw, err)
			}
		}()
	}
	wg.Wait()

	if n := s.goTo.RefreshRequests(); n != 1 {
		t.Fatalf("%d refresh requests reached GoTo, want exactly 1 (summaries %+v, %+v)", n, sums[0], sums[1])
	}
	if s.goTo.InvalidGrants() != 0 {
		t.Fatalf("%d invalid_grant", s.goTo.InvalidGrants())
	}
	if sums[0].Refreshed+sums[1].Refreshed != 1 || sums[0].Skipped+sums[1].Skipped != 1 {
		t.Fatalf("summaries %+v, %+v", sums[0], sums[1])
	}
	conn, err := store.Connection(context.Background(), "cust-lease")
	if err != nil {
		t.Fatal(err)
	}
	s.seen = append(s.seen, conn.AccessToken, conn.RefreshToken)
	if conn.Status != gotoauth.StatusActive || !s.goTo.ValidRefreshToken(conn.RefreshToken) || !s.goTo.ValidAccessToken(conn.AccessToken) {
		t.Fatalf("stored connection: status %s, refresh token valid %v", conn.Status, s.goTo.ValidRefreshToken(conn.RefreshToken))
	}
}
