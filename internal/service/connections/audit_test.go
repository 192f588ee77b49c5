package connections_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// auditLines are the log lines with an "audit" attribute, decoded.
func (w *world) auditLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(w.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["audit"] != nil {
			out = append(out, m)
		}
	}
	return out
}

// Every token handed out writes exactly one audit line naming the caller
// API Gateway authorized and whether a refresh happened; refusals and reads
// of the connection write none; a disconnect writes one. No line holds a
// token.
func TestAuditOfTokenReleases(t *testing.T) {
	w := newWorld(t, gototest.WithSingleUseRefreshTokens())
	w.Connect("cust-1")
	app := w.app()
	stored := w.stored("cust-1")
	w.Clock.Advance(2 * time.Second) // "refreshed" has the store's one-second resolution

	if status, _, _ := call(t, app, request(connections.RouteToken, "cust-1", "")); status != http.StatusOK {
		t.Fatalf("token: %d", status)
	}
	req := request(connections.RouteToken, "cust-1", "")
	req.RequestContext.RequestID = "req-2"
	req.RequestContext.HTTP.SourceIP = "203.0.113.7"
	req.RequestContext.Authorizer.IAM.UserARN = "arn:aws:sts::123456789012:assumed-role/billing/session"
	w.Clock.Advance(56 * time.Minute) // the second release refreshes first
	if status, _, _ := call(t, app, req); status != http.StatusOK {
		t.Fatalf("token after 56 minutes: %d", status)
	}
	call(t, app, request(connections.RouteGet, "cust-1", ""))
	call(t, app, request(connections.RouteToken, "nobody", ""))
	call(t, app, request(connections.RouteToken, "cust-1", "min_valid=abc"))

	lines := w.auditLines()
	if len(lines) != 2 {
		t.Fatalf("%d audit lines for 2 token releases, want 2:\n%s", len(lines), w.logs.String())
	}
	first, second := lines[0], lines[1]
	for k, want := range map[string]any{
		"audit": "token_released", "connection_id": "cust-1", "caller_arn": "arn:aws:iam::123456789012:user/saas-backend",
		"caller_account": "123456789012", "caller_id": "AIDAEXAMPLE", "request_id": "req-1", "refreshed": false,
		"expires_at": stored.AccessTokenExpiresAt.UTC().Format(time.RFC3339),
	} {
		if first[k] != want {
			t.Errorf("first release: %s = %v, want %v", k, first[k], want)
		}
	}
	if second["caller_arn"] != "arn:aws:sts::123456789012:assumed-role/billing/session" || second["source_ip"] != "203.0.113.7" ||
		second["request_id"] != "req-2" || second["refreshed"] != true ||
		second["expires_at"] != w.stored("cust-1").AccessTokenExpiresAt.UTC().Format(time.RFC3339) {
		t.Errorf("second release: %v", second)
	}

	if status, _, _ := call(t, app, request(connections.RouteDelete, "cust-1", "")); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	call(t, app, request(connections.RouteDelete, "cust-1", "")) // nothing left: no record
	lines = w.auditLines()
	if len(lines) != 3 || lines[2]["audit"] != "disconnected" || lines[2]["connection_id"] != "cust-1" ||
		lines[2]["caller_arn"] != "arn:aws:iam::123456789012:user/saas-backend" {
		t.Fatalf("after the disconnect: %v", lines)
	}
	w.nothingSecretLeaked()
}
