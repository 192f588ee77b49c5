package soak

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// startLedger serves gototest (single-use refresh tokens) behind a ledger.
func startLedger(t *testing.T) *ledger {
	t.Helper()
	srv := gototest.NewUnstartedServer(gototest.WithSingleUseRefreshTokens(), gototest.WithRedirectURIs(redirectURI))
	l := newLedger(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.SetURL("http://" + ln.Addr().String())
	hs := &http.Server{Handler: l}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return l
}

// The ledger follows each connection's chain of refresh tokens across
// processes, and tells a rotated-away token presented again from a fresh one.
func TestLedgerFollowsRotationsAndReuses(t *testing.T) {
	l := startLedger(t)
	ctx := context.Background()
	srv := l.srv
	setup := newClient(srv.ClientID, srv.ClientSecret, srv.AuthorizeURL(), l.tokenURL("setup"))
	back, err := srv.Approve(setup.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := setup.Exchange(ctx, back.Query().Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	l.register("c1", tok.RefreshToken)

	p1 := newClient(srv.ClientID, srv.ClientSecret, srv.AuthorizeURL(), l.tokenURL("tokens-1.1"))
	before := time.Now()
	next, err := p1.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	rot := l.rotationOf(tok.RefreshToken)
	if rot == nil || rot.conn != "c1" || rot.proc != "tokens-1.1" || rot.new != next.RefreshToken || rot.at.Before(before) || rot.abandoned {
		t.Fatalf("rotation = %+v", rot)
	}
	if l.rotationOf(next.RefreshToken) != nil {
		t.Fatal("the latest refresh token is reported as rotated")
	}

	// An injected failure consumes nothing: no reuse when retried.
	srv.FailNext(1, gototest.ServerError(http.StatusBadGateway))
	p2 := newClient(srv.ClientID, srv.ClientSecret, srv.AuthorizeURL(), l.tokenURL("sweep-0.1"))
	if _, err := p2.Refresh(ctx, next.RefreshToken); err == nil {
		t.Fatal("injected 502 did not fail")
	}
	if _, err := p2.Refresh(ctx, tok.RefreshToken); gotoauth.Classify(err) != gotoauth.Permanent {
		t.Fatalf("spent token: %v, want invalid_grant", err)
	}
	reuses, answers, _, rotations := l.snapshot()
	if len(reuses) != 1 || reuses[0].conn != "c1" || reuses[0].proc != "sweep-0.1" || reuses[0].token != tok.RefreshToken {
		t.Fatalf("reuses = %+v", reuses)
	}
	if srv.RefreshTokenReuses() != 1 {
		t.Errorf("gototest counted %d reuses, the ledger 1", srv.RefreshTokenReuses())
	}
	if rotations != 1 || answers["refresh_token"][http.StatusOK] != 1 || answers["refresh_token"][http.StatusBadGateway] != 1 {
		t.Errorf("rotations %d, answers %v", rotations, answers)
	}

	if !l.revokeLatest("c1") || srv.ValidRefreshToken(next.RefreshToken) {
		t.Fatal("revokeLatest did not revoke the latest refresh token")
	}
}

// A SIGKILL is blamed for a lost rotation only when it hit the process that
// got GoTo's answer soon after, or later while DynamoDB was out.
func TestBlame(t *testing.T) {
	w := &world{set: Settings{KillWindow: 3 * time.Minute}}
	t0 := time.Now()
	ps := newProcs("", nil, "")
	ps.kills = []kill{
		{proc: "sweep-0.1", at: t0.Add(5 * time.Second)},
		{proc: "tokens-1.1", at: t0.Add(2 * time.Minute)},
		{proc: "tokens-2.1", at: t0.Add(time.Minute)},
	}
	in := &injector{outages: []outage{{from: t0.Add(30 * time.Second), to: t0.Add(90 * time.Second)}}}
	for _, tc := range []struct {
		rot    *rotation
		in     *injector
		want   string
		outage bool
	}{
		{nil, in, "", false},
		{&rotation{proc: "sweep-0.1", at: t0}, in, "sweep-0.1", false},                  // killed 5 s after the answer
		{&rotation{proc: "tokens-2.1", at: t0}, in, "tokens-2.1", true},                 // killed during the outage
		{&rotation{proc: "tokens-2.1", at: t0}, nil, "", false},                         // 60 s, DynamoDB healthy: it should have stored it
		{&rotation{proc: "tokens-1.1", at: t0.Add(-2 * time.Minute)}, in, "", false},    // 4 minutes: past the window
		{&rotation{proc: "tokens-3.1", at: t0}, in, "", false},                          // never killed
		{&rotation{proc: "sweep-0.1", at: t0.Add(time.Minute)}, in, "sweep-0.1", false}, // answered to a dead process
	} {
		got, outage := w.blame(ps, tc.in, tc.rot)
		if got != tc.want || outage != tc.outage {
			t.Errorf("blame(%+v) = %q, %v; want %q, %v", tc.rot, got, outage, tc.want, tc.outage)
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	t.Setenv("SOAK_DURATION", "90s")
	t.Setenv("SOAK_CONNECTIONS", "300")
	t.Setenv("SOAK_RATE_LIMIT", "12.5")
	s, err := SettingsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != 90*time.Second || s.Connections != 300 || s.RateLimit != 12.5 || s.TokenProcesses != 3 {
		t.Errorf("settings = %+v", s)
	}
	// What a child reads back is what the orchestrator had.
	for _, kv := range s.env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	back, err := SettingsFromEnv()
	if err != nil || back.Interval != s.Interval || back.RateLimit != s.RateLimit || back.Margin != s.Margin {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	t.Setenv("SOAK_DURATION", "soon")
	if _, err := SettingsFromEnv(); err == nil {
		t.Error("SOAK_DURATION=soon accepted")
	}
}
