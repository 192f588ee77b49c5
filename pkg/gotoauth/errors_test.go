package gotoauth_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// Every error the package returns, made by a real call, and what the
// classification helpers say of it. README's error handling follows this
// table: permanent means connect again, not_found means never connected or
// disconnected, transient means try again later, configuration means an
// operator must act, invalid means the input is wrong.
func TestErrorTable(t *testing.T) {
	db, table := testutil.Table(t)
	srv := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	defer srv.Close()
	client := newClient(srv)
	st := store(t, db, table)
	ctx := context.Background()
	connect := func(id string) *gotoauth.Token {
		tok, err := client.Exchange(ctx, consent(t, srv, client, ""), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveConnection(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	source := func(opts ...gotoauth.Option) *gotoauth.TokenSource {
		ts, err := gotoauth.NewTokenSource(st, client, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	refreshErr := func(f gototest.Failure) error {
		tok, err := client.Exchange(ctx, consent(t, srv, client, ""), "")
		if err != nil {
			t.Fatal(err)
		}
		srv.FailNext(1, f)
		_, err = client.Refresh(ctx, tok.RefreshToken)
		return err
	}
	key := func(b byte) []byte { return []byte(strings.Repeat(string(b), 32)) }

	cases := []struct {
		name      string
		make      func() error
		is        error // errors.Is target, or nil
		class     gotoauth.Class
		code      string
		permanent bool
		transient bool
	}{
		{"invalid_grant", func() error { return refreshErr(gototest.OAuthError(400, "invalid_grant", "x")) }, nil, gotoauth.Permanent, "invalid_grant", true, false},
		{"invalid_client", func() error { return refreshErr(gototest.OAuthError(401, "invalid_client", "x")) }, nil, gotoauth.Configuration, "invalid_client", false, false},
		{"decommissioned endpoint", func() error { return refreshErr(gototest.Decommissioned()) }, nil, gotoauth.Configuration, "endpoint_gone", false, false},
		{"429", func() error { return refreshErr(gototest.RateLimited(time.Second)) }, nil, gotoauth.Transient, "rate_limited", false, true},
		{"5xx", func() error { return refreshErr(gototest.ServerError(502)) }, nil, gotoauth.Transient, "server_error", false, true},
		{"HTML answer", func() error { return refreshErr(gototest.HTMLError(200)) }, nil, gotoauth.Transient, "unreadable_response", false, true},
		{"answer timeout", func() error {
			c := *client
			c.AnswerTimeout = 100 * time.Millisecond
			tok, _ := c.Exchange(ctx, consent(t, srv, &c, ""), "")
			srv.FailNext(1, gototest.Slow(time.Second))
			_, err := c.Refresh(ctx, tok.RefreshToken)
			return err
		}, nil, gotoauth.Transient, "timeout", false, true},
		{"unreachable", func() error {
			c := *client
			c.Endpoint.TokenURL = "http://127.0.0.1:1/oauth/token"
			_, err := c.Refresh(ctx, "rt")
			return err
		}, nil, gotoauth.Transient, "unreachable", false, true},
		{"not found", func() error { _, err := source().AccessToken(ctx, "nobody"); return err }, gotoauth.ErrNotFound, gotoauth.NotFound, "not_found", false, false},
		{"reauth required (from the refresh)", func() error {
			tok := connect("dead")
			srv.Revoke(tok.RefreshToken)
			_, err := source(gotoauth.WithMargin(2*time.Hour)).AccessToken(ctx, "dead")
			return err
		}, gotoauth.ErrReauthRequired, gotoauth.Permanent, "reauth_required", true, false},
		{"reauth required (stored)", func() error { _, err := source().AccessToken(ctx, "dead"); return err }, gotoauth.ErrReauthRequired, gotoauth.Permanent, "reauth_required", true, false},
		{"no refresh token", func() error {
			_, err := st.SaveConnection(ctx, "c-no-rt", &gotoauth.Token{AccessToken: "at"})
			return err
		}, gotoauth.ErrNoRefreshToken, gotoauth.Permanent, "no_refresh_token", true, false},
		{"invalid connection id", func() error { _, err := st.Connection(ctx, "no spaces"); return err }, gotoauth.ErrInvalidConnectionID, gotoauth.Invalid, "invalid_request", false, false},
		{"invalid listing cursor", func() error {
			_, _, err := st.ListConnections(ctx, gotoauth.StatusReauthRequired, 10, "not-a-cursor")
			return err
		}, gotoauth.ErrInvalidListing, gotoauth.Invalid, "invalid_request", false, false},
		{"link malformed", func() error {
			_, err := gotoauth.VerifyLink(url.Values{"connection_id": {"c"}}, []byte("k"), time.Now())
			return err
		}, gotoauth.ErrLinkMalformed, gotoauth.Invalid, "invalid_request", false, false},
		{"link signature", func() error {
			_, err := gotoauth.VerifyLink(url.Values{"connection_id": {"c"}, "expires": {"9999999999"}, "signature": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}, []byte("k"), time.Now())
			return err
		}, gotoauth.ErrLinkSignature, gotoauth.Invalid, "bad_signature", false, false},
		{"link expired", func() error {
			link, _ := gotoauth.SignLink("https://x/authorize", []byte("k"), gotoauth.Link{ConnectionID: "c", Expires: time.Unix(1000, 0)})
			u, _ := url.Parse(link)
			_, err := gotoauth.VerifyLink(u.Query(), []byte("k"), time.Now())
			return err
		}, gotoauth.ErrLinkExpired, gotoauth.Invalid, "link_expired", false, false},
		{"token key missing", func() error {
			keys := map[string][]byte{"k1": key('a')}
			c1, _ := gotoauth.NewTokenCipher(keys, "k1")
			with := store(t, db, table, gotoauth.WithTokenCipher(c1))
			tok, _ := client.Exchange(ctx, consent(t, srv, client, ""), "")
			if _, err := with.SaveConnection(ctx, "enc", tok); err != nil {
				t.Fatal(err)
			}
			_, err := st.Connection(ctx, "enc") // a store without the key
			return err
		}, gotoauth.ErrTokenKey, gotoauth.Configuration, "token_key", false, false},
		{"plain token where encryption is required", func() error {
			c1, _ := gotoauth.NewTokenCipher(map[string][]byte{"k1": key('a')}, "k1")
			strict := store(t, db, table, gotoauth.WithTokenCipher(c1), gotoauth.RequireEncryption())
			connect("plain")
			_, err := strict.Connection(ctx, "plain")
			return err
		}, gotoauth.ErrTokenKey, gotoauth.Configuration, "token_key", false, false},
		{"store unavailable", func() error {
			bad := dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
			_, err := store(t, bad, table).Connection(ctx, "c")
			return err
		}, gotoauth.ErrStore, gotoauth.Transient, "store_unavailable", false, true},
		{"rate limiter failed", func() error {
			connect("lim")
			ts := source(gotoauth.WithMargin(2*time.Hour), gotoauth.WithLimiter(failingLimiter{}))
			return ts.Refresh(ctx, "lim", true).Err
		}, gotoauth.ErrLimiter, gotoauth.Transient, "rate_limiter", false, true},
		{"re-encryption without keys", func() error { _, err := st.ReencryptAll(ctx, 1); return err }, gotoauth.ErrNoActiveKey, gotoauth.Configuration, "not_configured", false, false},
		{"zero TokenSource", func() error { _, err := (&gotoauth.TokenSource{}).AccessToken(ctx, "c"); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"zero Store", func() error { _, err := (&gotoauth.Store{}).Connection(ctx, "c"); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"zero Client", func() error { _, err := (&gotoauth.Client{}).Refresh(ctx, "rt"); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"NewStore without a client", func() error { _, err := gotoauth.NewStore(nil, "t"); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"NewStore requiring encryption without a cipher", func() error {
			_, err := gotoauth.NewStore(db, table, gotoauth.RequireEncryption())
			return err
		}, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"NewTokenSource without a store", func() error { _, err := gotoauth.NewTokenSource(nil, client); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
		{"NewTokenSource without a client", func() error { _, err := gotoauth.NewTokenSource(st, nil); return err }, gotoauth.ErrNotConfigured, gotoauth.Configuration, "not_configured", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.make()
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tc.is)
			}
			if got := gotoauth.Classify(err); got != tc.class {
				t.Errorf("Classify = %s, want %s (%v)", got, tc.class, err)
			}
			if got := gotoauth.ErrorCode(err); got != tc.code {
				t.Errorf("ErrorCode = %s, want %s (%v)", got, tc.code, err)
			}
			permanent, transient := gotoauth.Classify(err) == gotoauth.Permanent, gotoauth.Classify(err) == gotoauth.Transient
			if permanent != tc.permanent || transient != tc.transient {
				t.Errorf("permanent %v transient %v, want %v %v (%v)", permanent, transient, tc.permanent, tc.transient, err)
			}
			if strings.Contains(err.Error(), srv.ClientSecret) {
				t.Errorf("error leaks the client secret: %v", err)
			}
		})
	}
}

type failingLimiter struct{}

func (failingLimiter) Wait(context.Context) error {
	return errors.New("ThrottlingException: rate of requests exceeds the allowed throughput")
}
