package connections_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestGetConnection(t *testing.T) {
	w := newWorld(t, gototest.WithStyle(gototest.StyleLegacy))
	w.Connect("cust-1", "cust-2")
	w.MarkReauth(nil, "cust-2")
	app := w.app()
	c := w.stored("cust-1")

	status, body, resp := call(t, app, request(connections.RouteGet, "cust-1", ""))
	id := gototest.DefaultIdentity()
	want := map[string]any{
		"connection_id": "cust-1", "status": "active", "account_key": id.AccountKey, "organizer_key": id.OrganizerKey,
		"email": id.Email, "first_name": id.FirstName, "last_name": id.LastName,
		"connected_at": c.ConnectedAt.UTC().Format(time.RFC3339), "refreshed_at": c.RefreshedAt.UTC().Format(time.RFC3339),
		"access_token_expires_at":  c.AccessTokenExpiresAt.UTC().Format(time.RFC3339),
		"refresh_token_expires_at": c.RefreshTokenExpiresAt.UTC().Format(time.RFC3339),
	}
	if status != http.StatusOK {
		t.Fatalf("GET: %d %v", status, body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	for k := range body {
		if _, ok := want[k]; !ok && k != "account_type" {
			t.Errorf("unexpected field %s = %v", k, body[k])
		}
	}
	if strings.Contains(resp.Body, c.AccessToken) || strings.Contains(resp.Body, c.RefreshToken) || strings.Contains(resp.Body, "token\":") {
		t.Error("the answer holds a token")
	}

	// One that needs the customer again says why.
	status, body, _ = call(t, app, request(connections.RouteGet, "cust-2", ""))
	if status != http.StatusOK || body["status"] != "reauth_required" || body["reauth_reason"] != "invalid_grant" {
		t.Errorf("GET of a reauth_required connection: %d %v", status, body)
	}

	status, body, _ = call(t, app, request(connections.RouteGet, "nobody", ""))
	wantError(t, "unknown connection", status, body, http.StatusNotFound, "not_found")
	for _, bad := range []string{"a b", "é", strings.Repeat("x", 129), "a/b", "%41"} {
		status, body, _ = call(t, app, request(connections.RouteGet, bad, ""))
		wantError(t, "id "+bad, status, body, http.StatusBadRequest, "invalid_request")
	}
	// The id in rawPath serves when pathParameters lacks it.
	req := request(connections.RouteGet, "cust-1", "")
	req.PathParameters = nil
	if status, body, _ = call(t, app, req); status != http.StatusOK || body["connection_id"] != "cust-1" {
		t.Errorf("id from rawPath: %d %v", status, body)
	}
}

func TestTokenRoute(t *testing.T) {
	w := newWorld(t, gototest.WithStyle(gototest.StyleLegacy), gototest.WithSingleUseRefreshTokens())
	w.Connect("cust-1")
	app := w.app()
	first := w.stored("cust-1")

	// A fresh token is handed out as stored: no refresh.
	status, body, _ := call(t, app, request(connections.RouteToken, "cust-1", ""))
	if status != http.StatusOK || body["access_token"] != first.AccessToken || body["token_type"] != "Bearer" ||
		body["expires_at"] != first.AccessTokenExpiresAt.UTC().Format(time.RFC3339) ||
		body["expires_in"] != first.AccessTokenExpiresAt.Sub(w.Clock.Now()).Seconds() ||
		body["organizer_key"] != gototest.DefaultIdentity().OrganizerKey || body["account_key"] != gototest.DefaultIdentity().AccountKey {
		t.Fatalf("token: %d %v", status, body)
	}
	if len(body) != 6 {
		t.Errorf("token answer has %d fields, want 6: %v", len(body), body)
	}
	if n := w.GoTo.RefreshRequests(); n != 0 {
		t.Fatalf("%d refreshes for a fresh token", n)
	}
	// min_valid=3000 is still met by an hour-long token.
	if status, body, _ = call(t, app, request(connections.RouteToken, "cust-1", "min_valid=3000")); status != http.StatusOK || w.GoTo.RefreshRequests() != 0 {
		t.Fatalf("min_valid=3000: %d %v, %d refreshes", status, body, w.GoTo.RefreshRequests())
	}

	// 56 minutes later, less than the default 300 s is left: refreshed
	// first, once.
	w.Clock.Advance(56 * time.Minute)
	status, body, _ = call(t, app, request(connections.RouteToken, "cust-1", ""))
	second := w.stored("cust-1")
	if status != http.StatusOK || body["access_token"] == first.AccessToken || body["access_token"] != second.AccessToken ||
		!w.GoTo.ValidAccessToken(second.AccessToken) || w.GoTo.RefreshRequests() != 1 || body["expires_in"].(float64) < 300 {
		t.Fatalf("after 56 minutes: %d %v, %d refreshes", status, body, w.GoTo.RefreshRequests())
	}
	// min_valid=0 takes any unexpired token.
	w.Clock.Advance(58 * time.Minute)
	if status, body, _ = call(t, app, request(connections.RouteToken, "cust-1", "min_valid=0")); status != http.StatusOK ||
		body["access_token"] != second.AccessToken || w.GoTo.RefreshRequests() != 1 {
		t.Fatalf("min_valid=0: %d %v", status, body)
	}

	for _, q := range []string{"min_valid=abc", "min_valid=-1", "min_valid=3001", "min_valid=1.5", "min_valid=", "min_valid=0300",
		"min_valid=10&min_valid=20", "min_valid=%zz"} {
		status, body, _ = call(t, app, request(connections.RouteToken, "cust-1", q))
		wantError(t, q, status, body, http.StatusBadRequest, "invalid_request")
	}
	status, body, _ = call(t, app, request(connections.RouteToken, "nobody", ""))
	wantError(t, "unknown connection", status, body, http.StatusNotFound, "not_found")
	status, body, _ = call(t, app, request(connections.RouteToken, "bad id", ""))
	wantError(t, "bad id", status, body, http.StatusBadRequest, "invalid_request")
}

// GoTo failing transiently: 503 with Retry-After, the stored tokens
// untouched.
func TestTokenRouteUnavailable(t *testing.T) {
	w := newWorld(t)
	w.Connect("cust-1")
	app := w.app()
	before := w.stored("cust-1")
	w.Clock.Advance(2 * time.Hour) // expired
	w.GoTo.FailAlways(gototest.ServerError(http.StatusBadGateway))
	status, body, resp := call(t, app, request(connections.RouteToken, "cust-1", ""))
	wantError(t, "GoTo down", status, body, http.StatusServiceUnavailable, "unavailable")
	if resp.Headers["Retry-After"] == "" {
		t.Error("503 without Retry-After")
	}
	after := w.stored("cust-1")
	if after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken || after.Status != gotoauth.StatusActive {
		t.Fatal("a transient failure changed the stored tokens")
	}
	// A still-valid token with less than min_valid left is not handed out
	// when the refresh fails.
	w.GoTo.StopFailing()
	w.Connect("cust-2")
	w.Clock.Advance(58 * time.Minute)
	w.GoTo.FailAlways(gototest.ServerError(http.StatusServiceUnavailable))
	status, body, resp = call(t, app, request(connections.RouteToken, "cust-2", "min_valid=600"))
	wantError(t, "short token, GoTo down", status, body, http.StatusServiceUnavailable, "unavailable")
	if resp.Headers["Retry-After"] == "" {
		t.Error("503 without Retry-After")
	}
	w.GoTo.StopFailing()
	// GoTo back: the same call succeeds.
	if status, body, _ = call(t, app, request(connections.RouteToken, "cust-2", "min_valid=600")); status != http.StatusOK {
		t.Fatalf("after GoTo is back: %d %v", status, body)
	}
}

// A dead grant: 409 with the reason, and connection.reauth_required
// published (by the token source) once.
func TestTokenRouteReauthRequired(t *testing.T) {
	w := newWorld(t)
	w.Connect("cust-1")
	app := w.app()
	w.Clock.Advance(2 * time.Hour)
	w.GoTo.FailAlways(gototest.OAuthError(400, "invalid_grant", "revoked"))
	status, body, _ := call(t, app, request(connections.RouteToken, "cust-1", ""))
	if status != http.StatusConflict || body["error"] != "reauth_required" || body["reason"] != "invalid_grant" || len(body) != 2 {
		t.Fatalf("dead grant: %d %v", status, body)
	}
	// Asked again, it answers the same without calling GoTo.
	status, body, _ = call(t, app, request(connections.RouteToken, "cust-1", ""))
	if status != http.StatusConflict || body["reason"] != "invalid_grant" || w.GoTo.RefreshRequests() != 1 {
		t.Fatalf("again: %d %v, %d refreshes", status, body, w.GoTo.RefreshRequests())
	}
	evs := w.published()
	if len(evs) != 1 || evs[0].Type != gotoauth.EventReauthRequired || evs[0].ConnectionID != "cust-1" || evs[0].Reason != "invalid_grant" {
		t.Fatalf("events %+v", evs)
	}
}

// The acceptance test: 20 concurrent token calls over four processes on an
// expiring connection with single-use refresh tokens make one refresh at
// GoTo, and every caller gets the same new token.
func TestConcurrentTokenCallsRefreshOnce(t *testing.T) {
	w := newWorld(t, gototest.WithSingleUseRefreshTokens(), gototest.WithDelay(200*time.Millisecond))
	w.Connect("cust-1")
	w.Clock.Advance(57 * time.Minute) // 3 minutes left: under the default 300 s
	var apps []*connections.App
	for range 4 {
		apps = append(apps, w.app())
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens = map[string]int{}
		bad    []string
	)
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := apps[i%len(apps)].Handle(context.Background(), request(connections.RouteToken, "cust-1", ""))
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusOK {
				bad = append(bad, resp.Body)
				return
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			_ = jsonUnmarshal(resp.Body, &tok)
			tokens[tok.AccessToken]++
		}()
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d calls failed: %v", len(bad), bad)
	}
	if n := w.GoTo.RefreshRequests(); n != 1 {
		t.Fatalf("%d refresh requests at GoTo, want exactly 1", n)
	}
	if len(tokens) != 1 {
		t.Fatalf("the callers got %d different tokens, want 1", len(tokens))
	}
	stored := w.stored("cust-1")
	if tokens[stored.AccessToken] != 20 || w.GoTo.InvalidGrants() != 0 || stored.Status != gotoauth.StatusActive {
		t.Fatalf("stored token given to %d callers, %d invalid_grant", tokens[stored.AccessToken], w.GoTo.InvalidGrants())
	}
}

func TestDeleteRoute(t *testing.T) {
	w := newWorld(t, gototest.WithStyle(gototest.StyleLegacy))
	w.Connect("cust-1")
	app := w.app()
	w.stored("cust-1")

	if status, body, _ := call(t, app, request(connections.RouteDelete, "cust-1", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	if _, err := w.Store().Connection(context.Background(), "cust-1"); err == nil {
		t.Fatal("the connection is still stored")
	}
	evs := w.published()
	if len(evs) != 1 || evs[0].Type != gotoauth.EventDisconnected || evs[0].ConnectionID != "cust-1" ||
		evs[0].Status != gotoauth.StatusDisconnected || evs[0].Email != gototest.DefaultIdentity().Email || !evs[0].At.Equal(w.Clock.Now()) {
		t.Fatalf("events %+v", evs)
	}
	// Again: 204, nothing published.
	if status, _, _ := call(t, app, request(connections.RouteDelete, "cust-1", "")); status != http.StatusNoContent || len(w.published()) != 1 {
		t.Fatalf("second DELETE: %d, %d events", status, len(w.published()))
	}
	for _, route := range []string{connections.RouteGet, connections.RouteToken} {
		status, body, _ := call(t, app, request(route, "cust-1", ""))
		wantError(t, route+" after DELETE", status, body, http.StatusNotFound, "not_found")
	}
	status, body, _ := call(t, app, request(connections.RouteDelete, "a b", ""))
	wantError(t, "DELETE bad id", status, body, http.StatusBadRequest, "invalid_request")

	// A bus that fails does not undo or fail the delete.
	w.Connect("cust-2")
	app.Events = gotoauth.EventSink(func(context.Context, gotoauth.Event) error { return context.DeadlineExceeded })
	if status, _, _ := call(t, app, request(connections.RouteDelete, "cust-2", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE with a failing bus: %d", status)
	}
	if _, err := w.Store().Connection(context.Background(), "cust-2"); err == nil {
		t.Fatal("the connection is still stored")
	}
	if !strings.Contains(w.logs.String(), "publishing a lifecycle event failed") {
		t.Fatal("the failed publish is not logged")
	}
}

// DELETE while a token call is refreshing: the refresh's answer is dropped
// and the connection stays deleted.
func TestDeleteWhileRefreshing(t *testing.T) {
	w := newWorld(t, gototest.WithSingleUseRefreshTokens())
	w.Connect("cust-1")
	// GoTo answers the refresh after 3 s: the window for the test to see
	// the lease and delete, even on a loaded machine.
	w.GoTo.FailNext(1, gototest.Slow(3*time.Second))
	old := w.stored("cust-1")
	w.Clock.Advance(2 * time.Hour)
	app := w.app()
	done := make(chan connections.Response, 1)
	go func() {
		resp, _ := app.Handle(context.Background(), request(connections.RouteToken, "cust-1", ""))
		done <- resp
	}()
	deadline := time.Now().Add(10 * time.Second) // generous on a busy 2-core machine
	for w.leaseOwner("cust-1") == "" {
		if time.Now().After(deadline) {
			t.Fatal("the token call never took the refresh lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status, _, _ := call(t, w.app(), request(connections.RouteDelete, "cust-1", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}
	resp := <-done
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the token call in flight answered %d %s, want 404", resp.StatusCode, resp.Body)
	}
	if w.GoTo.RefreshRequests() != 1 || w.GoTo.ValidRefreshToken(old.RefreshToken) {
		t.Fatal("GoTo did not answer the refresh (the test proves nothing)")
	}
	if _, err := w.Store().Connection(context.Background(), "cust-1"); err == nil {
		t.Fatal("the deleted connection came back")
	}
}

func TestListRoute(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for _, id := range []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6"} {
		ids = append(ids, id)
	}
	w.Connect(ids...)
	dead := []string{"c4", "c0", "c6", "c2", "c5"}
	w.MarkReauth(nil, dead...)
	app := w.app()

	var got []string
	cursor, pages := "", 0
	for {
		q := url.Values{"status": {"reauth_required"}, "limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, body, _ := call(t, app, request(connections.RouteList, "", q.Encode()))
		if status != http.StatusOK {
			t.Fatalf("list: %d %v", status, body)
		}
		pages++
		list := body["connections"].([]any)
		for _, c := range list {
			m := c.(map[string]any)
			if m["status"] != "reauth_required" || m["reauth_reason"] != "invalid_grant" || m["connected_at"] == nil || m["access_token"] != nil {
				t.Errorf("listed %v", m)
			}
			got = append(got, m["connection_id"].(string))
		}
		next, ok := body["next_cursor"].(string)
		if !ok {
			break
		}
		if len(list) != 2 || next == "" {
			t.Fatalf("page %d: %d connections, next_cursor %q", pages, len(list), next)
		}
		cursor = next
	}
	if strings.Join(got, ",") != strings.Join(dead, ",") || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, dead)
	}
	// The default limit takes all five in one page.
	status, body, _ := call(t, app, request(connections.RouteList, "", "status=reauth_required"))
	if status != http.StatusOK || len(body["connections"].([]any)) != 5 || body["next_cursor"] != nil {
		t.Fatalf("default limit: %d %v", status, body)
	}

	for _, q := range []string{"", "status=active", "status=reauth_required&limit=0", "status=reauth_required&limit=1001",
		"status=reauth_required&limit=x", "status=reauth_required&cursor=nonsense", "status=reauth_required&cursor=" + cursor[:len(cursor)-2],
		"status=reauth_required&status=reauth_required"} {
		status, body, _ := call(t, app, request(connections.RouteList, "", q))
		wantError(t, "list "+q, status, body, http.StatusBadRequest, "invalid_request")
	}
	// None at all: an empty list, not null.
	w2 := newWorld(t)
	status, body, resp := call(t, w2.app(), request(connections.RouteList, "", "status=reauth_required&limit=1000"))
	if status != http.StatusOK || !strings.Contains(resp.Body, `"connections":[]`) || body["next_cursor"] != nil {
		t.Fatalf("empty list: %d %s", status, resp.Body)
	}
}

// A request API Gateway did not authorize with IAM (a route deployed
// without AWS_IAM) gets no token.
func TestRequiresIAM(t *testing.T) {
	w := newWorld(t)
	w.Connect("cust-1")
	app := w.app()
	for _, route := range connections.Routes {
		req := request(route, "cust-1", "status=reauth_required")
		if route == connections.RouteList {
			req = request(route, "", "status=reauth_required")
		}
		req.RequestContext.Authorizer = nil
		status, body, _ := call(t, app, req)
		wantError(t, route+" without IAM", status, body, http.StatusForbidden, "forbidden")
	}
	if _, err := w.Store().Connection(context.Background(), "cust-1"); err != nil {
		t.Fatal("a refused DELETE deleted")
	}
	// The local server has no IAM.
	app.RequireIAM = false
	req := request(connections.RouteGet, "cust-1", "")
	req.RequestContext.Authorizer = nil
	if status, body, _ := call(t, app, req); status != http.StatusOK {
		t.Fatalf("without RequireIAM: %d %v", status, body)
	}
}

// DELETE revokes the deleted connection's refresh token at GoTo, best
// effort: a failing revocation endpoint changes neither the 204 nor the
// delete, and is logged (without the token) and counted.
func TestDeleteRevokes(t *testing.T) {
	w := newWorld(t)
	w.Connect("cust-1", "cust-2", "cust-3")
	app := w.app()
	client := w.Client()
	client.Endpoint.RevokeURL = w.GoTo.RevokeURL()
	app.Revoke = client.Revoke
	var metrics strings.Builder
	app.Metrics = &metrics

	rt := w.stored("cust-1").RefreshToken
	if status, body, _ := call(t, app, request(connections.RouteDelete, "cust-1", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	if w.GoTo.Revocations() != 1 || w.GoTo.ValidRefreshToken(rt) {
		t.Fatalf("Revocations %d, token still valid %v", w.GoTo.Revocations(), w.GoTo.ValidRefreshToken(rt))
	}
	if _, err := client.Refresh(context.Background(), rt); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh with the revoked token: %v", err)
	}
	evs := w.published()
	if len(evs) != 1 || evs[0].Revoked == nil || !*evs[0].Revoked {
		t.Fatalf("events %+v", evs)
	}
	if b, _ := evs[0].MarshalJSON(); !strings.Contains(string(b), `"revoked":true`) {
		t.Fatalf("event JSON %s", b)
	}

	// GoTo's revocation endpoint fails: still 204, the item is gone.
	w.GoTo.FailRevocations(gototest.ServerError(503))
	rt2 := w.stored("cust-2").RefreshToken
	if status, _, _ := call(t, app, request(connections.RouteDelete, "cust-2", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE with failing revocation: %d", status)
	}
	if _, err := w.Store().Connection(context.Background(), "cust-2"); err == nil {
		t.Fatal("the connection is still stored")
	}
	if !w.GoTo.ValidRefreshToken(rt2) || w.GoTo.Revocations() != 1 {
		t.Fatal("the failed revocation revoked")
	}
	evs = w.published()
	if len(evs) != 2 || evs[1].Revoked == nil || *evs[1].Revoked {
		t.Fatalf("events %+v", evs)
	}
	if !strings.Contains(w.logs.String(), "revoking the refresh token at GoTo failed") {
		t.Fatal("the failed revocation is not logged")
	}
	lines := strings.Split(strings.TrimSpace(metrics.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"Outcome":"revoked"`) || !strings.Contains(lines[1], `"Outcome":"failed"`) ||
		!strings.Contains(lines[1], `"Revocations":1`) {
		t.Fatalf("metrics %q", lines)
	}

	// Revocation off (GOTO_REVOKE_URL=none): "revoked": false, nothing sent.
	w.GoTo.StopFailing()
	app.Revoke = nil
	before := w.GoTo.RevocationRequests()
	if status, _, _ := call(t, app, request(connections.RouteDelete, "cust-3", "")); status != http.StatusNoContent {
		t.Fatalf("DELETE without revocation: %d", status)
	}
	if evs = w.published(); len(evs) != 3 || evs[2].Revoked == nil || *evs[2].Revoked || w.GoTo.RevocationRequests() != before {
		t.Fatalf("events %+v, %d revocation requests", evs, w.GoTo.RevocationRequests()-before)
	}
}
