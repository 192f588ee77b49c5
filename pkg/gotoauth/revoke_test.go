package gotoauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestRevoke(t *testing.T) {
	// A secret that form-encoding would change: the Basic header must be raw.
	srv := gototest.NewServer(gototest.WithClient("rev-client", "s3cr+t/=="))
	defer srv.Close()
	c := newClient(srv)
	c.Endpoint.RevokeURL = srv.RevokeURL()
	ctx := context.Background()
	tok, err := c.Exchange(ctx, consent(t, srv, c, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, tok.RefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if srv.Revocations() != 1 || srv.ValidRefreshToken(tok.RefreshToken) {
		t.Fatalf("Revocations %d, still valid %v", srv.Revocations(), srv.ValidRefreshToken(tok.RefreshToken))
	}
	_, err = c.Refresh(ctx, tok.RefreshToken)
	if err == nil || gotoauth.Classify(err) != gotoauth.Permanent || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh of a revoked token: %v", err)
	}
	// Already revoked: still nil (RFC 7009).
	if err := c.Revoke(ctx, tok.RefreshToken); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
}

func TestRevokeFailures(t *testing.T) {
	srv := gototest.NewServer()
	defer srv.Close()
	c := newClient(srv)
	c.Endpoint.RevokeURL = srv.RevokeURL()
	ctx := context.Background()
	tok, err := c.Exchange(ctx, consent(t, srv, c, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []gototest.Failure{
		gototest.ServerError(503),
		gototest.OAuthError(400, "invalid_request", "bad "+tok.RefreshToken),
		gototest.HTMLError(502),
	} {
		srv.FailRevocations(f)
		err := c.Revoke(ctx, tok.RefreshToken)
		if err == nil {
			t.Fatalf("%v: no error", f)
		}
		if strings.Contains(err.Error(), tok.RefreshToken) || strings.Contains(err.Error(), srv.ClientSecret) {
			t.Fatalf("%v: error carries a secret: %v", f, err)
		}
	}
	if !srv.ValidRefreshToken(tok.RefreshToken) {
		t.Fatal("a failed revocation revoked the token")
	}
	// Slow: bounded by the client's timeouts, not by GoTo. (GoTo, like
	// gototest, may still revoke after the client gave up: the error says
	// only that no answer came.)
	srv.FailRevocations(gototest.Slow(time.Minute))
	c.AnswerTimeout = 300 * time.Millisecond
	start := time.Now()
	if err := c.Revoke(ctx, tok.RefreshToken); err == nil {
		t.Fatal("slow revocation: no error")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("slow revocation took %s", d)
	}
	srv.StopFailing()

	// No RevokeURL on a non-zero Endpoint: not configured, nothing sent.
	c.Endpoint.RevokeURL = ""
	before := srv.RevocationRequests()
	if err := c.Revoke(ctx, tok.RefreshToken); !errors.Is(err, gotoauth.ErrNotConfigured) {
		t.Fatalf("without RevokeURL: %v", err)
	}
	if srv.RevocationRequests() != before {
		t.Fatal("a request was sent without RevokeURL")
	}
}
