package platform

import (
	"context"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
)

// Which secret each part reads: with LINK_SECRET_ID, the link keys come
// from it (link keys only) and the client secret from GOTO_SECRET_ID
// (no link key needed); with LINK_SECRET_ID alone (authorize), asking for
// the client secret fails clearly; without it, both are GOTO_SECRET_ID.
func TestFromEnvSecrets(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	base := map[string]string{
		"GOTO_CLIENT_ID": "cid", "GOTO_REDIRECT_URI": "https://x.example.com/callback", "TABLE_NAME": "t", "EVENT_BUS_NAME": "none",
	}
	parts := func(extra map[string]string) *Parts {
		t.Helper()
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		p, err := FromEnv(context.Background(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	both := parts(map[string]string{"GOTO_SECRET_ID": "client", "LINK_SECRET_ID": "link"})
	client, link := both.Secrets.(*secrets.Manager), both.LinkSecrets.(*secrets.Manager)
	if client.SecretID != "client" || link.SecretID != "link" || client.Parse == nil || link.Parse == nil {
		t.Fatalf("client %+v, link %+v", client, link)
	}
	if _, err := link.Parse([]byte(`{"link_signing_key":"0123456789abcdef","client_secret":"s"}`)); err == nil {
		t.Error("the link secret's parser accepts a client_secret")
	}
	if _, err := client.Parse([]byte(`{"client_secret":"s"}`)); err != nil {
		t.Errorf("the client secret's parser wants a link key: %v", err)
	}

	alone := parts(map[string]string{"LINK_SECRET_ID": "link"})
	if alone.LinkSecrets.(*secrets.Manager).SecretID != "link" {
		t.Errorf("link secrets %+v", alone.LinkSecrets)
	}
	if _, err := alone.Secrets.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "GOTO_SECRET_ID is unset") {
		t.Errorf("the client secret without GOTO_SECRET_ID: %v", err)
	}

	old := parts(map[string]string{"GOTO_SECRET_ID": "client"})
	if old.LinkSecrets != old.Secrets || old.Secrets.(*secrets.Manager).Parse != nil {
		t.Errorf("without LINK_SECRET_ID: link %+v, client %+v", old.LinkSecrets, old.Secrets)
	}
}
