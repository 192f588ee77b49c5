package importer_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/service/importer"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// A connection made through the connect flow is never overwritten unless
// asked; a dry run writes nothing; -overwrite replaces it.
func TestExistingConnections(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	flowAccess, flowRefresh := w.grant(w.Clock.Now())
	flow, err := w.store().SaveConnection(ctx, "flow-1", &gotoauth.Token{AccessToken: flowAccess, RefreshToken: flowRefresh, Expiry: w.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, rt := w.grant(w.Clock.Now())
	_, rt2 := w.grant(w.Clock.Now())
	input := jsonLine(map[string]any{"connection_id": "flow-1", "refresh_token": rt}) + "\n" +
		jsonLine(map[string]any{"connection_id": "new-1", "refresh_token": rt2}) + "\n"
	run := func(im *importer.Importer) (importer.Summary, string) {
		t.Helper()
		out := newSyncBuffer()
		im.Out = out
		sum, err := im.Run(ctx, strings.NewReader(input))
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, out)
		}
		w.noTokenIn(out.String())
		return sum, out.String()
	}

	im := w.importer(nil)
	im.DryRun = true
	if sum, out := run(im); sum.Imported != 1 || sum.SkippedExists != 1 || !strings.Contains(out, "line 2 new-1: imported (dry run: nothing written)") ||
		!strings.Contains(out, "dry run: 0 changes (1 without -dry-run)") {
		t.Fatalf("dry run: %+v\n%s", sum, out)
	}
	if _, err := w.store().Connection(ctx, "new-1"); !errors.Is(err, gotoauth.ErrNotFound) {
		t.Fatalf("the dry run stored new-1: %v", err)
	}

	sum, out := run(w.importer(nil))
	if sum.Imported != 1 || sum.SkippedExists != 1 || !strings.Contains(out, "line 1 flow-1: skipped-exists: connected through the connect flow at ") {
		t.Fatalf("first run: %+v\n%s", sum, out)
	}
	if c := w.conn("flow-1"); c.RefreshToken != flowRefresh || c.Revision != flow.Revision || !c.ImportedAt.IsZero() {
		t.Fatal("the import touched a connection made through the flow")
	}

	im = w.importer(nil)
	im.Overwrite = true
	if sum, out := run(im); sum.Replaced != 1 || sum.Unchanged != 1 || sum.Changes() != 1 || !strings.Contains(out, "line 1 flow-1: replaced") {
		t.Fatalf("with overwrite: %+v\n%s", sum, out)
	}
	if c := w.conn("flow-1"); c.RefreshToken != rt || c.ImportedAt.IsZero() {
		t.Fatal("overwrite did not replace the connection")
	}
	// A consent through the flow afterwards takes the connection back.
	if _, err := w.store().SaveConnection(ctx, "flow-1", &gotoauth.Token{AccessToken: flowAccess, RefreshToken: flowRefresh, Expiry: w.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if c := w.conn("flow-1"); !c.ImportedAt.IsZero() {
		t.Fatal("a consent left the import mark")
	}
}

// -verify refreshes each imported connection once, through the token
// source (its lease and shared rate limit): a refresh token GoTo does not
// know is reported and the connection marked reauth_required; the summary
// counts both and Run reports a problem.
func TestVerify(t *testing.T) {
	w := newWorld(t)
	_, good := w.grant(w.Clock.Now())
	unknown := w.newToken("rt") // never issued by GoTo
	input := jsonLine(map[string]any{"connection_id": "ok-1", "refresh_token": good}) + "\n" +
		jsonLine(map[string]any{"connection_id": "dead-1", "refresh_token": unknown}) + "\n"
	out := newSyncBuffer()
	im := w.importer(out)
	im.Verify = true
	sum, err := im.Run(context.Background(), strings.NewReader(input))
	if !errors.Is(err, importer.ErrProblems) || sum.Imported != 2 || sum.Verified != 1 || sum.VerifyFailed != 1 {
		t.Fatalf("%+v %v\n%s", sum, err, out)
	}
	printed := out.String()
	w.noTokenIn(printed)
	if !strings.Contains(printed, "line 1 ok-1: imported, verified") ||
		!strings.Contains(printed, "line 2 dead-1: imported, verify failed: GoTo refused the refresh token (invalid_grant); the connection is marked reauth_required") ||
		!strings.Contains(printed, "; 1 verified, 1 verify failed; 2 changes") {
		t.Fatalf("output:\n%s", printed)
	}
	if c := w.conn("ok-1"); !w.GoTo.ValidAccessToken(c.AccessToken) || c.Status != gotoauth.StatusActive {
		t.Fatal("ok-1 was not refreshed")
	}
	if c := w.conn("dead-1"); c.Status != gotoauth.StatusReauthRequired {
		t.Fatalf("dead-1 is %s", c.Status)
	}
	if n := w.GoTo.RefreshRequests(); n != 2 {
		t.Fatalf("%d refreshes at GoTo, want one a connection", n)
	}
}

// Cancelling the run (Ctrl-C in cmd/import) finishes the line in flight,
// reports what was done and ErrInterrupted, and reads no further line.
func TestInterrupted(t *testing.T) {
	w := newWorld(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	out := newSyncBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ran struct {
		sum importer.Summary
		err error
	}
	done := make(chan ran, 1)
	go func() {
		sum, err := w.importer(out).Run(ctx, pr)
		done <- ran{sum, err}
	}()
	for i := 1; i <= 3; i++ {
		_, rt := w.grant(w.Clock.Now())
		if _, err := io.WriteString(pw, jsonLine(map[string]any{"connection_id": "c-" + string(rune('0'+i)), "refresh_token": rt})+"\n"); err != nil {
			t.Fatal(err)
		}
		<-out.lines // its result is printed
	}
	cancel()
	var r ran
	select {
	case r = <-done:
	case <-time.After(time.Minute): // generous for a loaded machine
		t.Fatal("Run did not stop within a minute of the cancel")
	}
	if !errors.Is(r.err, importer.ErrInterrupted) || !r.sum.Interrupted || r.sum.Imported != 3 {
		t.Fatalf("%+v %v", r.sum, r.err)
	}
	printed := out.String()
	if !strings.Contains(printed, "summary: 3 lines: 3 imported") || !strings.Contains(printed, "interrupted: the lines after line 3 were not read") {
		t.Fatalf("output:\n%s", printed)
	}
	for _, id := range []string{"c-1", "c-2", "c-3"} {
		w.conn(id)
	}
	w.noTokenIn(printed)
}
