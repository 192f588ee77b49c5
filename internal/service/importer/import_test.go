package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/importer"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// 1,000 lines of which 10 are bad: 990 connections are imported (encrypted,
// scheduled, active, marked imported), the 10 are reported with their line
// numbers and reasons, the 990 then refresh through the refresh function's
// sweep, and a second run of the same input changes nothing. No token is
// printed, not even one from a bad line.
func TestImportThousandLines(t *testing.T) {
	w := newWorld(t)
	now := w.Clock.Now()
	// The bad lines, by line number, and the reason each must get. Several
	// hold a token in the wrong place: it must not be printed either.
	stray := w.newToken("rt")
	bad := map[int]struct{ line, reason string }{
		7:   {`{"connection_id": "c-7", "refresh_token": "` + stray, "not valid JSON (it ends too soon)"},
		58:  {jsonLine(map[string]any{"connection_id": "c-58"}), "refresh_token is missing"},
		133: {jsonLine(map[string]any{"connection_id": stray + "==", "refresh_token": w.newToken("rt")}), "connection_id is not 1 to 128 characters"},
		250: {jsonLine(map[string]any{"connection_id": "c-250", "refresh_token": w.newToken("rt"), "refresh_tokn": stray}), "unknown field refresh_tokn"},
		377: {jsonLine(map[string]any{"connection_id": "c-377", "refresh_token": w.newToken("rt"), "access_token": w.newToken("at")}), "access_token_expires_at is required with access_token"},
		402: {jsonLine(map[string]any{"connection_id": "c-402", "refresh_token": w.newToken("rt"), "refresh_token_issued_at": now.Unix()}), "refresh_token_issued_at must be a JSON string"},
		555: {jsonLine(map[string]any{"connection_id": "c-555", "refresh_token": w.newToken("rt"), "refresh_token_issued_at": now.Add(-31 * 24 * time.Hour).Format(time.RFC3339)}), "the refresh token has expired"},
		666: {jsonLine(map[string]any{"connection_id": "c-666", "refresh_token": stray[:20] + " " + stray[20:]}), "refresh_token holds a character that is not visible ASCII (at byte 21)"},
		808: {jsonLine(map[string]any{"connection_id": "c-1", "refresh_token": w.newToken("rt")}), "connection_id repeats line 1"},
		999: {jsonLine(map[string]any{"connection_id": "c-999", "refresh_token": strings.Repeat(stray, 1500)}), "the line is longer than 65536 bytes"},
	}
	var in strings.Builder
	var good []string
	for n := 1; n <= 1000; n++ {
		if b, ok := bad[n]; ok {
			in.WriteString(b.line + "\n")
			continue
		}
		id := fmt.Sprintf("c-%d", n)
		fields := map[string]any{"connection_id": id}
		switch n % 3 {
		case 0: // the refresh token alone
			_, fields["refresh_token"] = w.grant(now)
		case 1: // both tokens, the access token's expiry and the issue time
			issued := now.Add(-10 * 24 * time.Hour)
			fields["access_token"], fields["refresh_token"] = w.grant(issued)
			fields["access_token_expires_at"] = now.Add(30 * time.Minute).UTC().Format(time.RFC3339)
			fields["refresh_token_issued_at"] = issued.Format(time.RFC3339)
		case 2: // with identity fields
			_, fields["refresh_token"] = w.grant(now)
			fields["email"], fields["principal"], fields["organizer_key"] = id+"@example.com", id+"@example.com", "84398856940"
		}
		in.WriteString(jsonLine(fields) + "\n")
		good = append(good, id)
	}

	out := newSyncBuffer()
	sum, err := w.importer(out).Run(context.Background(), strings.NewReader(in.String()))
	if !errors.Is(err, importer.ErrProblems) {
		t.Fatalf("Run: %v, want ErrProblems (10 bad lines)", err)
	}
	if sum.Lines != 1000 || sum.Imported != 990 || sum.Invalid != 10 || sum.Changes() != 990 || sum.Failed+sum.Unchanged+sum.SkippedExists != 0 {
		t.Fatalf("summary %+v", sum)
	}
	printed := out.String()
	w.noTokenIn(printed)
	results := resultLines(printed)
	if len(results) != 1000 {
		t.Fatalf("%d result lines, want 1000", len(results))
	}
	for n, b := range bad {
		got := results[n-1]
		if !strings.HasPrefix(got, fmt.Sprintf("line %d ", n)) || !strings.Contains(got, ": invalid: "+b.reason) {
			t.Errorf("line %d reported %q, want its number and %q", n, got, b.reason)
		}
	}
	if got := results[133-1]; !strings.HasPrefix(got, "line 133 -: invalid") {
		t.Errorf("a bad connection id is printed: %q", got)
	}
	if !strings.Contains(printed, "summary: 1000 lines: 990 imported, 0 replaced, 0 unchanged, 0 skipped-exists, 10 invalid, 0 failed; 990 changes") {
		t.Fatalf("summary line missing or wrong:\n%s", printed[strings.LastIndex(printed, "line 1000"):])
	}

	// Stored as the callback stores a consent, encrypted and scheduled.
	for i, id := range good {
		item := testutil.Item(t, w.Raw, w.Table, "conn#"+id)
		if !strings.HasPrefix(testutil.S(item, "refresh_token"), "enc:v1:k1:") || testutil.S(item, "status") != "active" ||
			testutil.N(item, "imported_at") == "" || testutil.N(item, "connected_at") == "" || testutil.N(item, "next_refresh_at") == "" ||
			testutil.S(item, "due_shard") == "" {
			t.Fatalf("%s is not stored like a consent: %v", id, item)
		}
		if i > 20 {
			break // the rest are checked through the sweep below
		}
	}
	c1 := w.conn("c-1") // line 1: n%3 == 1, issued ten days ago
	if want := now.Add(-10 * 24 * time.Hour).Add(schedule.RefreshTokenLifetime); !c1.RefreshTokenExpiresAt.Equal(want) || c1.AccessToken == "" {
		t.Fatalf("c-1: refresh token expires %s, want %s (from refresh_token_issued_at)", c1.RefreshTokenExpiresAt, want)
	}
	if c := w.conn("c-2"); c.Email != "c-2@example.com" || c.OrganizerKey != "84398856940" || !c.ImportedAt.Equal(now) {
		t.Fatalf("c-2: identity %+v, imported at %s", c.Identity, c.ImportedAt)
	}
	for _, n := range []int{7, 58, 250, 377, 402, 555, 666, 999} {
		if item := testutil.Item(t, w.Raw, w.Table, fmt.Sprintf("conn#c-%d", n)); item != nil {
			t.Fatalf("bad line %d stored a connection", n)
		}
	}

	// The refresh function's sweep refreshes all 990 at GoTo.
	w.Clock.Advance(25 * time.Hour)
	if s := w.sweep(); s.Due != 990 || s.Refreshed != 990 || s.Failed+s.ReauthRequired+s.Skipped != 0 {
		t.Fatalf("sweep after the import: %+v", s)
	}
	for _, id := range good {
		c := w.conn(id)
		if !w.GoTo.ValidAccessToken(c.AccessToken) || !w.GoTo.ValidRefreshToken(c.RefreshToken) || !c.RefreshedAt.Equal(w.Clock.Now()) {
			t.Fatalf("%s was not refreshed by the sweep", id)
		}
	}

	// The same input again: nothing changes.
	out2 := newSyncBuffer()
	sum2, err := w.importer(out2).Run(context.Background(), strings.NewReader(in.String()))
	if !errors.Is(err, importer.ErrProblems) || sum2.Changes() != 0 || sum2.Unchanged != 990 || sum2.Invalid != 10 {
		t.Fatalf("second run: %+v %v", sum2, err)
	}
	if !strings.Contains(out2.String(), "990 unchanged, 0 skipped-exists, 10 invalid, 0 failed; 0 changes") {
		t.Fatalf("second run's summary:\n%s", out2.String())
	}
	w.noTokenIn(out2.String())
	if c := w.conn("c-1"); c.Revision != c1.Revision+1 {
		t.Fatalf("the second run wrote c-1 (revision %d, want %d: the import and the sweep's refresh)", c.Revision, c1.Revision+1)
	}
}
