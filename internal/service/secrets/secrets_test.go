package secrets

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type fakeSM struct {
	value string
	calls int
}

func (f *fakeSM) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	v := f.value
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
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
