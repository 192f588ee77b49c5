package gotoauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// adminWorld is a table, a clock shared with GoTo, and GoTo.
type adminWorld struct{ *tw.World }

func newAdminWorld(t *testing.T, opts ...gototest.Option) *adminWorld {
	return &adminWorld{tw.New(t, opts...)}
}

func TestDeleteConnection(t *testing.T) {
	w := newAdminWorld(t)
	w.Connect("gone-1", "kept-1")
	s := w.Store()
	ctx := context.Background()

	before, err := s.Connection(ctx, "gone-1")
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.DeleteConnection(ctx, "gone-1")
	if err != nil {
		t.Fatal(err)
	}
	ident := gototest.DefaultIdentity()
	if old == nil || old.ConnectionID != "gone-1" || old.Status != gotoauth.StatusActive || old.Account() != ident.Email ||
		old.ConnectedAt.IsZero() || old.RefreshToken == "" || old.RefreshToken != before.RefreshToken {
		t.Fatalf("DeleteConnection returned %+v, want the deleted connection with its refresh token (to revoke it)", old)
	}
	if item := testutil.Item(t, w.Raw, w.Table, "conn#gone-1"); item != nil {
		t.Fatalf("the item is still there: %v", item)
	}
	if _, err := s.Connection(ctx, "gone-1"); !errors.Is(err, gotoauth.ErrNotFound) {
		t.Fatalf("Connection after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Connection(ctx, "kept-1"); err != nil {
		t.Fatalf("the other connection: %v", err)
	}
	// Deleting again deletes nothing, and is no error.
	if old, err := s.DeleteConnection(ctx, "gone-1"); old != nil || err != nil {
		t.Fatalf("second delete: %+v, %v; want nil, nil", old, err)
	}
	if _, err := s.DeleteConnection(ctx, "not valid/id"); err == nil {
		t.Fatal("an invalid id was accepted")
	}
}

// A refresh whose GoTo answer arrives after the connection was deleted
// leaves no item behind: its store write is conditioned on the item.
func TestDeleteDuringRefreshStaysDeleted(t *testing.T) {
	w := newAdminWorld(t, gototest.WithSingleUseRefreshTokens())
	w.Connect("c1")
	// GoTo answers the refresh after 3 s: the window for the test to see
	// the lease and delete, even on a loaded machine.
	w.GoTo.FailNext(1, gototest.Slow(3*time.Second))
	before, err := w.Store().Connection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(2 * time.Hour) // the access token has expired

	ts := w.Source(nil)
	done := make(chan error, 1)
	go func() {
		_, err := ts.ConnectionValidFor(context.Background(), "c1", 5*time.Minute)
		done <- err
	}()
	// Wait until the refresher holds the lease: GoTo is answering slowly.
	waitFor(t, "the refresh lease", func() bool {
		return testutil.S(testutil.Item(t, w.Raw, w.Table, "conn#c1"), "lease_owner") != ""
	})
	if old, err := w.Store().DeleteConnection(context.Background(), "c1"); err != nil || old == nil {
		t.Fatalf("delete: %v, %v", old, err)
	}
	err = <-done
	if !errors.Is(err, gotoauth.ErrNotFound) {
		t.Fatalf("the refresh in flight ended with %v, want ErrNotFound", err)
	}
	// GoTo did answer (it rotated the single-use refresh token)...
	if n := w.GoTo.RefreshRequests(); n != 1 || w.GoTo.ValidRefreshToken(before.RefreshToken) {
		t.Fatalf("%d refresh requests, old refresh token still valid %v: GoTo did not answer the refresh", n, w.GoTo.ValidRefreshToken(before.RefreshToken))
	}
	// ...and nothing was written back.
	if hasConn(t, w, "c1") {
		t.Fatalf("the deleted connection came back: %v", testutil.Item(t, w.Raw, w.Table, "conn#c1"))
	}
	if _, err := ts.ConnectionValidFor(context.Background(), "c1", time.Minute); !errors.Is(err, gotoauth.ErrNotFound) {
		t.Fatalf("after the delete: %v, want ErrNotFound", err)
	}
}

func hasConn(t *testing.T, w *adminWorld, id string) bool {
	return testutil.Item(t, w.Raw, w.Table, "conn#"+id) != nil
}

// waitFor polls cond every 10 ms for up to 10 s (generous for a busy
// 2-core machine; if it still fails there, the condition never held).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s never happened", what)
}

func TestListConnectionsPagesThroughTheReauthIndex(t *testing.T) {
	w := newAdminWorld(t)
	var ids, dead []string
	for i := range 8 {
		ids = append(ids, fmt.Sprintf("cust-%d", i))
	}
	w.Connect(ids...)
	var (
		mu     sync.Mutex
		events []gotoauth.Event
	)
	ts := w.Source([]gotoauth.Option{gotoauth.WithEvents(gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		return nil
	}))})
	dead = []string{"cust-5", "cust-1", "cust-6", "cust-2", "cust-7"}
	w.MarkReauth(ts, dead...)
	if len(events) != len(dead) || events[0].Type != gotoauth.EventReauthRequired || events[0].ConnectionID != "cust-5" || events[0].Reason != "invalid_grant" {
		t.Fatalf("events %+v", events)
	}

	s := w.Store()
	ctx := context.Background()
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := s.ListConnections(ctx, gotoauth.StatusReauthRequired, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 2 || (next != "" && len(page) != 2) {
			t.Fatalf("page %d: %d connections, next %q", pages, len(page), next)
		}
		for _, c := range page {
			if c.Status != gotoauth.StatusReauthRequired || c.ReauthReason != "invalid_grant" || c.AccessToken != "" || c.RefreshToken != "" ||
				c.Account() != gototest.DefaultIdentity().Email || c.ConnectedAt.IsZero() || c.RefreshTokenExpiresAt.IsZero() {
				t.Errorf("listed %+v", c)
			}
			got = append(got, c.ConnectionID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	// Oldest first, each once, across three pages (2+2+1).
	if !slices.Equal(got, dead) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, dead)
	}

	// A reconnect takes a connection off the list.
	w.Connect("cust-6")
	page, next, err := s.ListConnections(ctx, gotoauth.StatusReauthRequired, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, c := range page {
		left = append(left, c.ConnectionID)
	}
	if want := []string{"cust-5", "cust-1", "cust-2", "cust-7"}; !slices.Equal(left, want) || next != "" {
		t.Fatalf("after a reconnect: %v (next %q), want %v", left, next, want)
	}
	// So does a delete.
	if _, err := s.DeleteConnection(ctx, "cust-1"); err != nil {
		t.Fatal(err)
	}
	if page, _, _ := s.ListConnections(ctx, gotoauth.StatusReauthRequired, 10, ""); len(page) != 3 {
		t.Fatalf("after a delete: %d listed, want 3", len(page))
	}
}

func TestListConnectionsRefusesBadRequests(t *testing.T) {
	w := newAdminWorld(t)
	w.Connect("a")
	w.MarkReauth(w.Source(nil), "a")
	s := w.Store()
	ctx := context.Background()
	tampered := base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"conn#a","reauth_at":"1","x":1}`))
	for name, tc := range map[string]struct {
		status gotoauth.Status
		limit  int
		cursor string
	}{
		"status active":       {gotoauth.StatusActive, 10, ""},
		"empty status":        {"", 10, ""},
		"limit 0":             {gotoauth.StatusReauthRequired, 0, ""},
		"limit 1001":          {gotoauth.StatusReauthRequired, 1001, ""},
		"cursor not base64":   {gotoauth.StatusReauthRequired, 10, "***"},
		"cursor not JSON":     {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte("hello"))},
		"cursor extra field":  {gotoauth.StatusReauthRequired, 10, tampered},
		"cursor bad id":       {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"conn#a b","reauth_at":"1"}`))},
		"cursor not conn":     {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"rate#x","reauth_at":"1"}`))},
		"cursor bad time":     {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"conn#a","reauth_at":"1e3"}`))},
		"cursor padded":       {gotoauth.StatusReauthRequired, 10, base64.URLEncoding.EncodeToString([]byte(`{"pk":"conn#a","reauth_at":"1"}`))},
		"cursor two values":   {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"conn#a","reauth_at":"1"}{}`))},
		"cursor missing time": {gotoauth.StatusReauthRequired, 10, base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"conn#a"}`))},
	} {
		_, _, err := s.ListConnections(ctx, tc.status, tc.limit, tc.cursor)
		if !errors.Is(err, gotoauth.ErrInvalidListing) {
			t.Errorf("%s: %v, want ErrInvalidListing", name, err)
		}
	}
	// A page that holds the last connection hands out no cursor.
	page, next, err := s.ListConnections(ctx, gotoauth.StatusReauthRequired, 1, "")
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("one connection, limit 1: %d, next %q, %v", len(page), next, err)
	}
}
