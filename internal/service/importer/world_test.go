package importer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/service/importer"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// world is a table, GoTo, a token cipher and a clock they share.
type world struct {
	t      *testing.T
	clock  *testutil.Clock
	goTo   *gototest.Server
	db     *dynamodb.Client
	table  string
	cipher *gotoauth.TokenCipher
	tokens []string // every token handed to the import: none may be printed
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := testutil.NewClock(time.Now().Truncate(time.Second))
	srv := gototest.NewServer(gototest.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	db, table := testutil.Table(t)
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := gotoauth.NewTokenCipher(map[string][]byte{"k1": key}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, clock: clock, goTo: srv, db: db, table: table, cipher: cipher}
}

var schedule = gotoauth.Schedule{Interval: 24 * time.Hour, RefreshTokenLifetime: 720 * time.Hour}

func (w *world) store() *gotoauth.Store {
	w.t.Helper()
	s, err := gotoauth.NewStore(w.db, w.table, gotoauth.WithTokenCipher(w.cipher), gotoauth.WithSchedule(schedule),
		gotoauth.WithClock(w.clock.Now), gotoauth.RequireEncryption())
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// source is a token source on the world's store, under the shared rate
// limit (as the refresh function's).
func (w *world) source(opts ...gotoauth.Option) *gotoauth.TokenSource {
	w.t.Helper()
	client := &gotoauth.Client{ClientID: w.goTo.ClientID, ClientSecret: w.goTo.ClientSecret,
		RedirectURL: "https://connector.example.com/callback", Now: w.clock.Now,
		Endpoint: gotoauth.Endpoint{AuthURL: w.goTo.AuthorizeURL(), TokenURL: w.goTo.TokenURL()}}
	ts, err := gotoauth.NewTokenSource(w.store(), client, append([]gotoauth.Option{gotoauth.WithRateLimit(500)}, opts...)...)
	if err != nil {
		w.t.Fatal(err)
	}
	return ts
}

// importer is an Importer on the world; out collects what it prints.
func (w *world) importer(out *syncBuffer) *importer.Importer {
	return &importer.Importer{Store: w.store(), Tokens: w.source(), Lifetime: schedule.RefreshTokenLifetime, Now: w.clock.Now, Out: out}
}

// grant makes a token GoTo knows (as if another integration had it
// issued), remembered as one that must never be printed.
func (w *world) grant(issued time.Time) (access, refresh string) {
	w.t.Helper()
	access, refresh = w.newToken("at"), w.newToken("rt")
	if err := w.goTo.AddGrant(gototest.Grant{RefreshToken: refresh, AccessToken: access, IssuedAt: issued,
		AccessTokenExpiresAt: w.clock.Now().Add(30 * time.Minute)}); err != nil {
		w.t.Fatal(err)
	}
	return access, refresh
}

// newToken is a token-shaped random string, remembered as a secret.
func (w *world) newToken(prefix string) string {
	b := make([]byte, 48)
	rand.Read(b)
	tok := prefix + "." + hex.EncodeToString(b)
	w.tokens = append(w.tokens, tok)
	return tok
}

// noTokenIn fails the test if any token handed to the import, or a piece
// of one, was printed.
func (w *world) noTokenIn(out string) {
	w.t.Helper()
	for _, tok := range w.tokens {
		if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-24:]) {
			w.t.Fatalf("the output holds a token (or a part of one)")
		}
	}
}

// sweep runs the refresh function's sweep on the world.
func (w *world) sweep() refresh.Summary {
	w.t.Helper()
	s := &refresh.Sweeper{Source: w.source(), Concurrency: 8}
	sum, err := s.Sweep(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return sum
}

func (w *world) conn(id string) *gotoauth.Connection {
	w.t.Helper()
	c, err := w.store().Connection(context.Background(), id)
	if err != nil {
		w.t.Fatalf("%s: %v", id, err)
	}
	return c
}

// jsonLine is one input line.
func jsonLine(fields map[string]any) string {
	b, _ := json.Marshal(fields)
	return string(b)
}

// syncBuffer is an output the test reads while the import writes it.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{lines: make(chan struct{}, 1<<16)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range bytes.Count(p, []byte("\n")) {
		b.lines <- struct{}{}
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// resultLines are the per-line results (without the summary).
func resultLines(out string) []string {
	var res []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "line ") {
			res = append(res, l)
		}
	}
	return res
}
