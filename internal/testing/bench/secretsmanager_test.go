package bench_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSecretsManager answers Secrets Manager's GetSecretValue for the
// site's secrets, id to value (the AWS JSON protocol), so the bootstraps read their secrets
// through the SDK's real client. It counts the reads.
type fakeSecretsManager struct {
	URL   string
	calls atomic.Int64
}

func newFakeSecretsManager(tb testing.TB, secrets map[string]string) *fakeSecretsManager {
	f := &fakeSecretsManager{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		err := json.NewDecoder(r.Body).Decode(&in)
		secretID := in.SecretId
		secret, ok := secrets[secretID]
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || err != nil || !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "ResourceNotFoundException", "message": "no such secret"})
			return
		}
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + secretID + "-Ab12Cd", "Name": secretID,
			"SecretString": secret, "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": float64(time.Now().Add(-time.Hour).Unix()),
		})
	}))
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Calls is how many reads of the secrets were answered.
func (f *fakeSecretsManager) Calls() int { return int(f.calls.Load()) }
