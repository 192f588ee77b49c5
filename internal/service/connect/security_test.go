package connect_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// Authorization code injection (RFC 9700 §4.5): an attacker who obtained a
// code for their own flow slips it into the victim's callback, with the
// victim's state and cookie. The exchange carries the victim flow's PKCE
// verifier, which does not match the challenge the attacker's code was
// issued for, so GoTo refuses it and nothing is stored.
func TestCallbackRefusesInjectedCode(t *testing.T) {
	e := newEnv(t, callbackHT)
	attackerConsent, _ := e.start("attacker", returnTo)
	attackerBack, err := e.goto_.Approve(attackerConsent)
	if err != nil {
		t.Fatal(err)
	}
	victimConsent, victimCookie := e.start("victim", returnTo)
	u, _ := url.Parse(victimConsent)
	injected := url.Values{"state": {u.Query().Get("state")}, "code": {attackerBack.Query().Get("code")}}
	r := e.callback(injected.Encode(), victimCookie)
	loc, _ := url.Parse(r.Headers["Location"])
	if r.StatusCode != http.StatusFound || loc.Query().Get("status") != "error" || loc.Query().Get("error") != "invalid_grant" {
		t.Fatalf("injected code: %d %s", r.StatusCode, loc)
	}
	if e.connection("victim") != nil || e.connection("attacker") != nil {
		t.Fatal("a connection was stored from an injected code")
	}
}

// Read access to the table yields nothing to replay: a pending item holds
// the SHA-256 of its state and of its binding cookie, never the values, and
// its PKCE verifier encrypted for its connection.
func TestPendingItemHoldsNoReplayableSecret(t *testing.T) {
	e := newEnv(t, callbackHT)
	key := make([]byte, 32)
	rand.Read(key)
	raw, _ := json.Marshal(map[string]any{
		"client_secret": e.goto_.ClientSecret, "link_signing_key": linkKey,
		"token_encryption_keys": map[string]string{"k1": base64.StdEncoding.EncodeToString(key)}, "token_encryption_active_key": "k1",
	})
	sec, err := secrets.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	e.app.Secrets = secrets.Static{S: sec}
	consent, cookie := e.start("cust-1", returnTo)
	u, _ := url.Parse(consent)
	state := u.Query().Get("state")
	_, binding, _ := strings.Cut(cookie, "=")

	items := testutil.Items(t, e.db, e.table)
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	item := items[0]
	for k := range item {
		v := testutil.S(item, k)
		if strings.Contains(v, state) || strings.Contains(v, binding) {
			t.Fatalf("attribute %s holds the state or the cookie value", k)
		}
	}
	sum := sha256.Sum256([]byte(state))
	if testutil.S(item, "state_hash") != hex.EncodeToString(sum[:]) {
		t.Fatal("state_hash is not the state's SHA-256")
	}
	verifier := testutil.S(item, "code_verifier")
	if !strings.HasPrefix(verifier, "enc:v1:k1:") {
		t.Fatal("the PKCE verifier is not encrypted at rest")
	}
	if _, err := sec.TokenCipher.Decrypt(verifier, "another-connection"); err == nil {
		t.Fatal("the verifier decrypts for another connection id")
	}
	// And the flow still completes.
	back, _ := e.goto_.Approve(consent)
	if r := e.callback(back.RawQuery, cookie); r.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", r.StatusCode, r.Body)
	}
	access := testutil.S(testutil.Item(t, e.db, e.table, "conn#cust-1"), "access_token")
	if !strings.HasPrefix(access, "enc:v1:k1:") {
		t.Fatal("the access token is not encrypted at rest")
	}
}

// Denial of service through /callback: a state the connector could not
// have issued is refused without a single DynamoDB call, cookie or not.
func TestForeignStateCostsNoStoreCall(t *testing.T) {
	e := newEnv(t, callbackHT)
	db := &countingDB{Client: e.db}
	e.app.DB = db
	for _, state := range []string{oauth.GenerateState(), "a.b.c", strings.Repeat("A", 16) + ".7." + strings.Repeat("A", 43), strings.Repeat("x", 100000)} {
		sum := sha256.Sum256([]byte(state))
		cookie := "goto_connect_" + hex.EncodeToString(sum[:8]) + "=some-binding-value"
		r := e.callback(url.Values{"state": {state}, "code": {"c"}}.Encode(), cookie)
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("state %.20q: %d", state, r.StatusCode)
		}
	}
	if n := db.calls.Load(); n != 0 {
		t.Fatalf("%d DynamoDB calls for states the connector never issued", n)
	}
}
