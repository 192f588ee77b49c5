package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/ops"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func newStore(t *testing.T, db dynamo.Client, table string, opts ...gotoauth.StoreOption) *gotoauth.Store {
	t.Helper()
	s, err := gotoauth.NewStore(db, table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secretWith is the connector's secret with these token keys, active first.
func secretWith(t *testing.T, goTo *gototest.Server, keys map[string][]byte, active string) *secrets.Secrets {
	t.Helper()
	enc := map[string]string{}
	for id, k := range keys {
		enc[id] = base64.StdEncoding.EncodeToString(k)
	}
	raw, _ := json.Marshal(map[string]any{
		"client_secret": goTo.ClientSecret, "link_signing_key": "reencrypt-test-link-key-0123",
		"token_encryption_keys": enc, "token_encryption_active_key": active,
	})
	s, err := secrets.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Key rotation end to end: connections under key k1 (and one written
// before encryption was on) are re-encrypted under k2 by the command; with
// k1 then removed from the secret, every connection still refreshes. Without
// the command, removing k1 would make them unreadable.
func TestReencryptThenRemoveOldKey(t *testing.T) {
	ctx := context.Background()
	db, table := testutil.Table(t)
	goTo := gototest.NewServer()
	defer goTo.Close()
	client := &gotoauth.Client{ClientID: goTo.ClientID, ClientSecret: goTo.ClientSecret, RedirectURL: "https://c.example.com/callback",
		Endpoint: gotoauth.Endpoint{AuthURL: goTo.AuthorizeURL(), TokenURL: goTo.TokenURL()}}
	k1, k2 := make([]byte, 32), make([]byte, 32)
	rand.Read(k1)
	rand.Read(k2)

	before := secretWith(t, goTo, map[string][]byte{"k1": k1}, "k1")
	ids := []string{"c1", "c2", "c3", "plain"}
	for _, id := range ids {
		back, err := goTo.Approve(client.AuthCodeURL("s"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := client.Exchange(ctx, back.Query().Get("code"), "")
		if err != nil {
			t.Fatal(err)
		}
		opts := []gotoauth.StoreOption{gotoauth.WithTokenCipher(before.TokenCipher)}
		if id == "plain" {
			opts = nil // written before encryption was turned on
		}
		if _, err := newStore(t, db, table, opts...).SaveConnection(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
	}

	// Control: removing k1 right away loses the connections under it.
	onlyK2 := secretWith(t, goTo, map[string][]byte{"k2": k2}, "k2")
	if _, err := newStore(t, db, table, gotoauth.WithTokenCipher(onlyK2.TokenCipher)).Connection(ctx, "c1"); err == nil {
		t.Fatal("a connection under k1 reads without k1: the test proves nothing")
	}

	// Rotate: k2 active, k1 still listed; the command re-encrypts.
	rotated := secretWith(t, goTo, map[string][]byte{"k1": k1, "k2": k2}, "k2")
	var out bytes.Buffer
	if err := run(ctx, db, table, secrets.Static{S: rotated}, nil, 3, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var sum ops.ReencryptSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Seen != len(ids) || sum.Reencrypted != len(ids) || len(sum.Failed) != 0 {
		t.Fatalf("summary %s (%v)", out.String(), err)
	}
	for _, id := range ids {
		item := testutil.Item(t, db, table, "conn#"+id)
		for _, k := range []string{"access_token", "refresh_token"} {
			if v := testutil.S(item, k); !strings.HasPrefix(v, "enc:v1:k2:") {
				t.Errorf("%s of %s is %.12q..., want under k2", k, id, v)
			}
		}
	}
	// A second run has nothing to do.
	out.Reset()
	if err := run(ctx, db, table, secrets.Static{S: rotated}, nil, 3, &out); err != nil || !strings.Contains(out.String(), `"reencrypted": 0`) {
		t.Fatalf("second run: %v %s", err, out.String())
	}

	// k1 removed: every connection still refreshes.
	ts, err := gotoauth.NewTokenSource(newStore(t, db, table, gotoauth.WithTokenCipher(onlyK2.TokenCipher), gotoauth.RequireEncryption()), client)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if res := ts.Refresh(ctx, id, true); res.Outcome != sweep.Refreshed {
			t.Errorf("%s after removing k1: %s %v", id, res.Outcome, res.Err)
		}
	}
}

// Moving to KMS end to end: connections under the secret's key k1 (and one
// stored plain) are moved to enc:kms1 by the command; with
// token_encryption_keys then removed from the secret, every connection
// still refreshes, under KMS only.
func TestReencryptToKMSThenRemoveSecretKeys(t *testing.T) {
	ctx := context.Background()
	db, table := testutil.Table(t)
	goTo := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	defer goTo.Close()
	client := &gotoauth.Client{ClientID: goTo.ClientID, ClientSecret: goTo.ClientSecret, RedirectURL: "https://c.example.com/callback",
		Endpoint: gotoauth.Endpoint{AuthURL: goTo.AuthorizeURL(), TokenURL: goTo.TokenURL()}}
	k1 := make([]byte, 32)
	rand.Read(k1)
	before := secretWith(t, goTo, map[string][]byte{"k1": k1}, "k1")
	ids := []string{"c1", "c2", "plain"}
	for _, id := range ids {
		back, err := goTo.Approve(client.AuthCodeURL("s"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := client.Exchange(ctx, back.Query().Get("code"), "")
		if err != nil {
			t.Fatal(err)
		}
		opts := []gotoauth.StoreOption{gotoauth.WithTokenCipher(before.TokenCipher)}
		if id == "plain" {
			opts = nil
		}
		if _, err := newStore(t, db, table, opts...).SaveConnection(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
	}
	lkms := testutil.KMS(t)
	newKMS := func() *gotoauth.KMSCipher {
		k, err := gotoauth.NewKMSCipher(lkms.Client(), lkms.KeyARN(), table)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var out bytes.Buffer
	if err := run(ctx, db, table, secrets.Static{S: before}, newKMS(), 2, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var sum ops.ReencryptSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Seen != len(ids) || sum.Reencrypted != len(ids) || len(sum.Failed) != 0 {
		t.Fatalf("summary %s (%v)", out.String(), err)
	}
	for _, id := range ids {
		item := testutil.Item(t, db, table, "conn#"+id)
		for _, k := range []string{"access_token", "refresh_token"} {
			if v := testutil.S(item, k); !strings.HasPrefix(v, "enc:kms1:") {
				t.Errorf("%s of %s is %.12q..., want enc:kms1:", k, id, v)
			}
		}
	}
	// token_encryption_keys removed from the secret: every connection
	// refreshes in a new process, under KMS alone.
	noKeys := secretWith(t, goTo, nil, "")
	if noKeys.TokenCipher != nil {
		t.Fatal("the secret still has token keys")
	}
	st := newStore(t, db, table, gotoauth.WithTokenCipher(noKeys.TokenCipher), gotoauth.WithKMSCipher(newKMS()), gotoauth.RequireEncryption())
	ts, err := gotoauth.NewTokenSource(st, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if res := ts.Refresh(ctx, id, true); res.Outcome != sweep.Refreshed {
			t.Errorf("%s after removing the secret's keys: %s %v", id, res.Outcome, res.Err)
		}
	}
}
