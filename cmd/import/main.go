// Command import brings connections made by another GoTo integration into
// the connector: it reads one JSON object a line (from the file named by
// -file, or stdin) with connection_id, refresh_token and optionally
// access_token, access_token_expires_at, refresh_token_issued_at (RFC 3339)
// and the identity fields, and stores each connection as the callback
// would. docs/import.md is the guide:
//
//	TABLE_NAME=... GOTO_SECRET_ID=... GOTO_CLIENT_ID=... GOTO_REDIRECT_URI=... \
//	  go run ./cmd/import -file connections.jsonl -dry-run
//
// It reads the same environment as the functions (internal/service/config),
// prints one result a line and a summary on stdout, never a token, and
// exits 0 when every line was imported, unchanged or skipped, 1 when a line
// was invalid, failed or did not verify, 2 on a usage or configuration
// error, and 130 when stopped by Ctrl-C (SIGINT) or SIGTERM, after
// finishing the line in flight. It only wires; the work is in
// internal/service/importer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gotoconnector/gotoconnector/internal/service/importer"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func main() {
	file := flag.String("file", "-", "the JSON lines to import; - reads stdin")
	overwrite := flag.Bool("overwrite", false, "replace existing connections that hold another refresh token")
	dryRun := flag.Bool("dry-run", false, "check every line and report what would be done, writing nothing")
	verify := flag.Bool("verify", false, "refresh each imported connection once, under REFRESH_RATE_LIMIT")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(2, fmt.Errorf("unexpected argument %q (the input is -file, or stdin)", flag.Arg(0)))
	}
	if *dryRun && *verify {
		fail(2, errors.New("-verify refreshes, which -dry-run never does: give one of them"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fail(2, err)
		}
		defer f.Close()
		in = f
	}
	parts, err := platform.FromEnv(ctx, os.Getenv)
	if err != nil {
		fail(2, err)
	}
	// Results go to stdout; the connector's own log lines to stderr.
	parts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	// The import signs no link: the client secret need not hold the link
	// key (the stack keeps it in its link secret).
	if m, ok := parts.Secrets.(*secrets.Manager); ok {
		m.Parse = secrets.ParseClient
	}
	sec, err := parts.Secrets.Get(ctx)
	if err != nil {
		fail(2, err)
	}
	store, err := parts.Store(sec)
	if err != nil {
		fail(2, err)
	}
	im := &importer.Importer{Store: store, Lifetime: parts.Config.Schedule.RefreshTokenLifetime, Out: os.Stdout,
		Overwrite: *overwrite, DryRun: *dryRun, Verify: *verify}
	if *verify {
		if im.Tokens, err = parts.TokenSource(sec, gotoauth.WithRateLimit(parts.Config.RefreshRateLimit)); err != nil {
			fail(2, err)
		}
	}
	_, err = im.Run(ctx, in)
	switch {
	case errors.Is(err, importer.ErrInterrupted):
		fail(130, err)
	case err != nil:
		fail(1, err)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "import:", err)
	os.Exit(code)
}
