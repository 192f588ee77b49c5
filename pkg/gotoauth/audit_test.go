package gotoauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// WithAudit writes one record per access token handed to the caller, with
// whether that call refreshed it, never the token; the Transport's tokens
// stay in the HTTP client and write none.
func TestWithAuditRecordsEveryRelease(t *testing.T) {
	w := tw.New(t)
	w.Connect("aud-1")
	var buf bytes.Buffer
	ts := w.Source([]gotoauth.Option{gotoauth.WithAudit(slog.New(slog.NewJSONHandler(&buf, nil)))})
	ctx := context.Background()

	first, err := ts.AccessToken(ctx, "aud-1") // fresh from the connect: no refresh
	if err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(2 * time.Hour) // the access token (1 hour) has expired
	second, err := ts.AccessToken(ctx, "aud-1")
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatal("the second call did not refresh")
	}
	resp, err := ts.Client(ctx, "aud-1").Get(w.GoTo.MeURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := ts.AccessToken(ctx, "not-there"); err == nil {
		t.Fatal("a missing connection released a token")
	}

	out := buf.String()
	for _, tok := range append([]string{first, second}, refreshTokensOf(w)...) {
		if strings.Contains(out, tok) {
			t.Fatalf("a token is in the audit log:\n%s", out)
		}
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 {
		t.Fatalf("%d audit records, want 2 (one per AccessToken that released a token, none for the Client or a failure):\n%s", len(recs), out)
	}
	wantExp := w.Stored("aud-1").AccessTokenExpiresAt.UTC().Format(time.RFC3339)
	for i, want := range []bool{false, true} {
		r := recs[i]
		if r["audit"] != "token_released" || r["connection_id"] != "aud-1" || r["refreshed"] != want || r["msg"] != "audit: token_released" {
			t.Fatalf("record %d = %v, want token_released of aud-1 with refreshed %v", i, r, want)
		}
	}
	if recs[1]["expires_at"] != wantExp {
		t.Fatalf("expires_at %v, want the stored expiry %s", recs[1]["expires_at"], wantExp)
	}
}

func refreshTokensOf(w *tw.World) []string {
	var all []string
	for _, tok := range w.Tokens {
		all = append(all, tok.RefreshToken, tok.AccessToken)
	}
	if c := w.Stored("aud-1"); c != nil {
		all = append(all, c.RefreshToken)
	}
	return all
}
