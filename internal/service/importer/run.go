package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/ops"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Importer imports the lines of one input. Build it with the store and
// token source of the connector's configuration (platform.Parts).
type Importer struct {
	Store *gotoauth.Store
	// Tokens refreshes once each imported connection with Verify; it should
	// carry the shared rate limit (gotoauth.WithRateLimit of
	// REFRESH_RATE_LIMIT), as the refresh function's does.
	Tokens *gotoauth.TokenSource
	// Lifetime is the refresh tokens' life (REFRESH_TOKEN_LIFETIME).
	Lifetime time.Duration
	// Now is the clock lines are judged by; time.Now when nil.
	Now func() time.Time
	// Out receives one result a line and the summary.
	Out io.Writer

	// Overwrite replaces existing connections that hold another refresh
	// token; DryRun writes nothing; Verify refreshes each imported
	// connection once.
	Overwrite, DryRun, Verify bool
}

// Summary counts a run's results.
type Summary struct {
	Lines, Imported, Replaced, Unchanged, SkippedExists, Invalid, Failed int
	Verified, VerifyFailed                                               int
	// LastLine is the number of the last line read (blank ones count).
	LastLine int
	// Interrupted: the run stopped before the end of its input (Ctrl-C).
	Interrupted bool
}

// Changes is how many connections the run wrote.
func (s Summary) Changes() int { return s.Imported + s.Replaced }

// Errors of Run.
var (
	// ErrInterrupted: the run was stopped (its context cancelled) before
	// the end of the input; the lines it reported are done.
	ErrInterrupted = errors.New("interrupted: the lines after the last one reported were not read")
	// ErrProblems: some lines are invalid, could not be stored or failed
	// their verification.
	ErrProblems = errors.New("some lines were not imported or did not verify: see their results")
)

// lineTimeout bounds the work on one line (a store write, one refresh).
const lineTimeout = 2 * time.Minute

// Run imports every line of in and writes the results to Out. When ctx is
// cancelled it finishes the line in flight (which is never cut short),
// reports, and returns ErrInterrupted. It returns ErrProblems when any line
// failed, nil when all are imported, unchanged or skipped.
func (im *Importer) Run(ctx context.Context, in io.Reader) (Summary, error) {
	var sum Summary
	if im.Store == nil || im.Out == nil || (im.Verify && im.Tokens == nil) {
		return sum, errors.New("importer: Store, Out (and, with Verify, Tokens) are required")
	}
	now := im.Now
	if now == nil {
		now = time.Now
	}
	lifetime := im.Lifetime
	if lifetime <= 0 {
		lifetime = tuning.DefaultRefreshTokenLifetime
	}
	lines := make(chan rawLine)
	done := make(chan struct{})
	defer close(done)
	go readLines(in, lines, done)
	seen := map[string]int{} // connection id: the line that had it first
	for {
		var (
			l  rawLine
			ok bool
		)
		select {
		case <-ctx.Done():
			sum.Interrupted = true
		case l, ok = <-lines:
		}
		if sum.Interrupted || !ok {
			break
		}
		sum.LastLine = l.n
		if l.err == nil && !l.tooLong && len(bytes.TrimSpace(l.data)) == 0 {
			continue // blank lines are allowed
		}
		sum.Lines++
		id, result := im.line(context.WithoutCancel(ctx), l, lifetime, now(), seen, &sum)
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(im.Out, "line %d %s: %s\n", l.n, id, result)
		if l.err != nil {
			break
		}
	}
	im.summary(sum)
	switch {
	case sum.Interrupted:
		return sum, ErrInterrupted
	case sum.Invalid+sum.Failed+sum.VerifyFailed > 0:
		return sum, ErrProblems
	}
	return sum, nil
}

// line imports one line and says what it did; id is "" when the line has
// no valid connection id.
func (im *Importer) line(ctx context.Context, l rawLine, lifetime time.Duration, now time.Time, seen map[string]int, sum *Summary) (id, result string) {
	switch {
	case l.err != nil:
		sum.Invalid++
		return "", "invalid: the input could not be read further: " + l.err.Error()
	case l.tooLong:
		sum.Invalid++
		return "", fmt.Sprintf("invalid: the line is longer than %d bytes", MaxLineBytes)
	}
	imp, id, err := parseLine(l.data, lifetime, now)
	if err == nil {
		if first, dup := seen[id]; dup {
			err = invalid("connection_id repeats line %d", first)
		} else {
			seen[id] = l.n
		}
	}
	if err != nil {
		sum.Invalid++
		return id, "invalid: " + err.Error()
	}
	lctx, cancel := context.WithTimeout(ctx, lineTimeout)
	defer cancel()
	res, c, err := im.Store.ImportConnection(lctx, &imp.Import, imp.Identity, ops.ImportOptions{Overwrite: im.Overwrite, DryRun: im.DryRun})
	if err != nil {
		sum.Failed++
		return id, "failed: " + redact(err.Error(), imp)
	}
	switch res {
	case ops.Imported:
		sum.Imported++
	case ops.Replaced:
		sum.Replaced++
	case ops.Unchanged:
		sum.Unchanged++
	case ops.SkippedExists:
		sum.SkippedExists++
		return id, string(res) + ": " + skipReason(c) + " (-overwrite replaces it)"
	}
	result = string(res)
	if im.DryRun {
		return id, result + " (dry run: nothing written)"
	}
	if im.Verify && (res == ops.Imported || res == ops.Replaced) {
		result += ", " + im.verify(lctx, id, imp, sum)
	}
	return id, result
}

// verify refreshes connection id once and says how it went.
func (im *Importer) verify(ctx context.Context, id string, imp *entry, sum *Summary) string {
	r := im.Tokens.Refresh(ctx, id, true)
	if r.Outcome == sweep.Refreshed {
		sum.Verified++
		return "verified"
	}
	sum.VerifyFailed++
	code := gotoauth.ErrorCode(r.Err)
	switch r.Outcome {
	case sweep.ReauthRequired:
		return fmt.Sprintf("verify failed: GoTo refused the refresh token (%s); the connection is marked reauth_required", code)
	case sweep.Failed:
		if r.Class == gotoauth.Configuration.String() {
			return fmt.Sprintf("verify failed: %s: the connector's GoTo client configuration is wrong", code)
		}
		return fmt.Sprintf("verify failed: %s (transient: the scheduled refresh tries it again)", code)
	default:
		msg := string(r.Outcome)
		if r.Err != nil {
			msg += ": " + redact(r.Err.Error(), imp)
		}
		return "verify failed: " + msg
	}
}

// skipReason says why an existing connection was left alone.
func skipReason(c *gotoauth.Connection) string {
	switch {
	case c == nil:
		return "stored by someone else during the import"
	case c.ImportedAt.IsZero():
		return "connected through the connect flow at " + c.ConnectedAt.UTC().Format(time.RFC3339) + " with another refresh token"
	default:
		return "imported at " + c.ImportedAt.UTC().Format(time.RFC3339) + " with another refresh token, or refreshed since with a new one"
	}
}

// redact removes the line's tokens from a message, should a lower layer
// ever have quoted one.
func redact(msg string, imp *entry) string {
	for _, t := range []string{imp.RefreshToken, imp.AccessToken} {
		if t != "" {
			msg = strings.ReplaceAll(msg, t, "[token]")
		}
	}
	return msg
}

// summary writes the run's last line.
func (im *Importer) summary(s Summary) {
	fmt.Fprintf(im.Out, "summary: %d lines: %d imported, %d replaced, %d unchanged, %d skipped-exists, %d invalid, %d failed",
		s.Lines, s.Imported, s.Replaced, s.Unchanged, s.SkippedExists, s.Invalid, s.Failed)
	if im.Verify {
		fmt.Fprintf(im.Out, "; %d verified, %d verify failed", s.Verified, s.VerifyFailed)
	}
	if im.DryRun {
		fmt.Fprintf(im.Out, "; dry run: 0 changes (%d without -dry-run)\n", s.Changes())
	} else {
		fmt.Fprintf(im.Out, "; %d changes\n", s.Changes())
	}
	if s.Interrupted {
		fmt.Fprintf(im.Out, "interrupted: the lines after line %d were not read\n", s.LastLine)
	}
}
