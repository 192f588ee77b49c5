package secrets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type fakeSM struct {
	value   string
	created *time.Time
	calls   int
}

func (f *fakeSM) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	v := f.value
	return &secretsmanager.GetSecretValueOutput{SecretString: &v, CreatedDate: f.created}, nil
}

// A secret read again unchanged keeps its *Secrets, so what the functions
// built from it is kept; a changed one is new.
func TestManagerKeepsAnUnchangedSecret(t *testing.T) {
	sm := &fakeSM{value: `{"client_secret":"s1","link_signing_key":"0123456789abcdef"}`}
	now := time.Now()
	m := &Manager{Client: sm, SecretID: "x", Now: func() time.Time { return now }}
	first, err := m.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(DefaultTTL + time.Second)
	again, _ := m.Get(context.Background())
	if sm.calls != 2 || again != first {
		t.Fatalf("%d reads; same secrets kept: %v", sm.calls, again == first)
	}
	sm.value = `{"client_secret":"s2","link_signing_key":"0123456789abcdef"}`
	now = now.Add(MinReloadInterval)
	rotated, err := m.Reload(context.Background())
	if err != nil || rotated == first || rotated.ClientSecret != "s2" {
		t.Fatalf("after rotation: %+v %v", rotated, err)
	}
}

// The link secret holds the link keys alone: it parses without
// client_secret, refuses a client secret or token keys (authorize reads
// it), and keeps the previous key's grace from its version's creation.
func TestLinkSecret(t *testing.T) {
	if _, err := ParseLink([]byte(`{"client_secret":"s","link_signing_key":"0123456789abcdef"}`)); err == nil || !strings.Contains(err.Error(), "holds client_secret") {
		t.Errorf("a link secret with client_secret: %v", err)
	}
	if _, err := ParseLink([]byte(`{"link_signing_key":"0123456789abcdef","token_encryption_active_key":"k"}`)); err == nil || !strings.Contains(err.Error(), "token_encryption") {
		t.Errorf("a link secret with token keys: %v", err)
	}
	if _, err := ParseLink([]byte(`{"previous_link_signing_key":"0123456789abcdef"}`)); err == nil || !strings.Contains(err.Error(), "link_signing_key is missing") {
		t.Errorf("a link secret without link_signing_key: %v", err)
	}
	if _, err := ParseLink([]byte(`nope`)); err == nil || !strings.Contains(err.Error(), "link secret is not a JSON object") {
		t.Errorf("not JSON: %v", err)
	}
	// The client secret, when the link secret holds the link keys, needs
	// none; one that is there is still checked.
	if s, err := ParseClient([]byte(`{"client_secret":"s"}`)); err != nil || s.ClientSecret != "s" {
		t.Errorf("client secret without link keys: %+v %v", s, err)
	}
	if _, err := ParseClient([]byte(`{"client_secret":"s","link_signing_key":"short"}`)); err == nil {
		t.Error("a short link_signing_key in the client secret is accepted")
	}
	if _, err := ParseClient([]byte(`{"link_signing_key":"0123456789abcdef"}`)); err == nil || !strings.Contains(err.Error(), "client_secret is missing") {
		t.Errorf("client secret without client_secret: %v", err)
	}

	created := time.Now().Add(-10 * time.Minute)
	sm := &fakeSM{value: `{"link_signing_key":"new-key-0123456789","previous_link_signing_key":"old-key-0123456789"}`, created: &created}
	m := &Manager{Client: sm, SecretID: "link", Parse: ParseLink}
	sec, err := m.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sec.ClientSecret != "" || sec.TokenCipher != nil {
		t.Errorf("link secrets carry a client secret or token cipher: %+v", sec)
	}
	if keys := sec.LinkKeys(time.Now()); len(keys) != 2 || string(keys[0]) != "new-key-0123456789" || string(keys[1]) != "old-key-0123456789" {
		t.Errorf("within the grace: %q", keys)
	}
	if keys := sec.LinkKeys(created.Add(LinkKeyGrace + time.Second)); len(keys) != 1 || string(keys[0]) != "new-key-0123456789" {
		t.Errorf("after the grace: %q", keys)
	}
}
