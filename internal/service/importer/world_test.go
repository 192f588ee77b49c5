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

	"github.com/gotoconnector/gotoconnector/internal/service/importer"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// world is the tests' world (a table, GoTo, a clock they share) with a
// token cipher.
type world struct {
	*tw.World
	cipher *gotoauth.TokenCipher
	tokens []string // every token handed to the import: none may be printed
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: tw.New(t)}
	w.Schedule = schedule
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := gotoauth.NewTokenCipher(map[string][]byte{"k1": key}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	w.cipher = cipher
	return w
}

var schedule = gotoauth.Schedule{Interval: 24 * time.Hour, RefreshTokenLifetime: 720 * time.Hour}

func (w *world) store() *gotoauth.Store {
	return w.Store(gotoauth.WithTokenCipher(w.cipher), gotoauth.RequireEncryption())
}

// source is a token source on the world's (encrypting) store, under the
// shared rate limit, as the refresh function's.
func (w *world) source(opts ...gotoauth.Option) *gotoauth.TokenSource {
	w.T.Helper()
	ts, err := gotoauth.NewTokenSource(w.store(), w.Client(), append([]gotoauth.Option{gotoauth.WithRateLimit(500)}, opts...)...)
	if err != nil {
		w.T.Fatal(err)
	}
	return ts
}

// importer is an Importer on the world; out collects what it prints.
func (w *world) importer(out *syncBuffer) *importer.Importer {
	return &importer.Importer{Store: w.store(), Tokens: w.source(), Lifetime: schedule.RefreshTokenLifetime, Now: w.Clock.Now, Out: out}
}

// grant makes a token GoTo knows (as if another integration had it
// issued), remembered as one that must never be printed.
func (w *world) grant(issued time.Time) (access, refresh string) {
	w.T.Helper()
	access, refresh = w.newToken("at"), w.newToken("rt")
	if err := w.GoTo.AddGrant(gototest.Grant{RefreshToken: refresh, AccessToken: access, IssuedAt: issued,
		AccessTokenExpiresAt: w.Clock.Now().Add(30 * time.Minute)}); err != nil {
		w.T.Fatal(err)
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
	w.T.Helper()
	for _, tok := range w.tokens {
		if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-24:]) {
			w.T.Fatalf("the output holds a token (or a part of one)")
		}
	}
}

// sweep runs the refresh function's sweep on the world.
func (w *world) sweep() refresh.Summary {
	w.T.Helper()
	s := &refresh.Sweeper{Source: w.source(), Concurrency: 8}
	sum, err := s.Sweep(context.Background())
	if err != nil {
		w.T.Fatal(err)
	}
	return sum
}

func (w *world) conn(id string) *gotoauth.Connection {
	w.T.Helper()
	c, err := w.store().Connection(context.Background(), id)
	if err != nil {
		w.T.Fatalf("%s: %v", id, err)
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
