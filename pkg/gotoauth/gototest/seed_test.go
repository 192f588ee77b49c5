package gototest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestAddGrant(t *testing.T) {
	srv := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	defer srv.Close()
	c := &gotoauth.Client{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		Endpoint: gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()}}
	id := gototest.Identity{Email: "someone@example.com", Principal: "someone@example.com"}
	if err := srv.AddGrant(gototest.Grant{RefreshToken: "rt-from-elsewhere", AccessToken: "at-from-elsewhere", Identity: &id, Scope: "collab: cr.v1.read"}); err != nil {
		t.Fatal(err)
	}
	if !srv.ValidRefreshToken("rt-from-elsewhere") || !srv.ValidAccessToken("at-from-elsewhere") {
		t.Fatal("the seeded tokens are not valid")
	}
	tok, err := c.Refresh(context.Background(), "rt-from-elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Principal != "someone@example.com" || tok.Scope != "collab: cr.v1.read" || tok.RefreshToken == "" || tok.RefreshToken == "rt-from-elsewhere" {
		t.Fatalf("refresh of a seeded grant: principal %q scope %q rotated %v", tok.Principal, tok.Scope, tok.RefreshToken != "rt-from-elsewhere")
	}
	if srv.ValidRefreshToken("rt-from-elsewhere") {
		t.Fatal("the single-use seeded refresh token is still valid after its use")
	}

	// An old refresh token expires from its issue time.
	if err := srv.AddGrant(gototest.Grant{RefreshToken: "rt-old", IssuedAt: time.Now().Add(-gototest.DefaultRefreshTokenLifetime - time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(context.Background(), "rt-old"); gotoauth.Classify(err) != gotoauth.Permanent {
		t.Fatalf("refresh with an expired seeded token: %v", err)
	}

	for _, g := range []gototest.Grant{{}, {RefreshToken: tok.RefreshToken}, {RefreshToken: "new", AccessToken: tok.AccessToken}} {
		if err := srv.AddGrant(g); !errors.Is(err, gototest.ErrGrant) {
			t.Errorf("AddGrant(%+v) = %v, want ErrGrant", g, err)
		}
	}
}
