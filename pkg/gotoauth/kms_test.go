package gotoauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// kmsClient is a KMS client for endpoint (local-kms, or a faultproxy in
// front of it) that tries each call once, so an outage shows at once.
func kmsClient(endpoint string) *kms.Client {
	return kms.New(kms.Options{
		Region:           devenv.LocalRegion,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(devenv.LocalAccessKeyID, devenv.LocalSecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}

// kmsCipher is a KMS cipher on local-kms's key for table.
func kmsCipher(t testing.TB, endpoint, table string) *gotoauth.KMSCipher {
	t.Helper()
	k, err := gotoauth.NewKMSCipher(kmsClient(endpoint), testutil.KMS(t).KeyARN(), table)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kmsFixture is the token-source fixture with its store encrypting under
// local-kms, and connection c1 connected through it.
func kmsFixture(t *testing.T) (*fixture, *gotoauth.KMSCipher) {
	t.Helper()
	f := newFixture(t)
	k := kmsCipher(t, testutil.KMS(t).Endpoint(), f.Table)
	f.StoreOptions = []gotoauth.StoreOption{gotoauth.WithKMSCipher(k), gotoauth.RequireEncryption()}
	f.store = f.Store()
	f.tok = f.connect("k1")
	return f, k
}

// With a KMS key, both token attributes are stored enc:kms1: and read back.
func TestKMSStoresBothTokensKMS1(t *testing.T) {
	f, _ := kmsFixture(t)
	item := testutil.Item(t, f.Raw, f.Table, "conn#k1")
	for _, attr := range []string{"access_token", "refresh_token"} {
		v := testutil.S(item, attr)
		if !strings.HasPrefix(v, "enc:kms1:") || strings.Contains(v, f.tok.AccessToken) || strings.Contains(v, f.tok.RefreshToken) {
			t.Fatalf("%s stored as %q", attr, v)
		}
		if parts := strings.Split(v, ":"); len(parts) != 4 {
			t.Fatalf("%s is not enc:kms1:<blob>:<sealed>: %d parts", attr, len(parts))
		}
	}
	c, err := f.store.Connection(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessToken != f.tok.AccessToken || c.RefreshToken != f.tok.RefreshToken {
		t.Fatal("tokens do not read back")
	}
}

// A kms1 value copied into another connection's item does not decrypt
// there (the connection id is the GCM additional data).
func TestKMSValueCopiedToAnotherConnectionDoesNotDecrypt(t *testing.T) {
	f, _ := kmsFixture(t)
	f.connect("k2")
	stolen := testutil.S(testutil.Item(t, f.Raw, f.Table, "conn#k1"), "refresh_token")
	if _, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 &f.Table,
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#k2"}},
		UpdateExpression:          aws.String("SET refresh_token = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: stolen}},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := f.store.Connection(context.Background(), "k2")
	if !errors.Is(err, gotoauth.ErrTokenKey) {
		t.Fatalf("copied value read as %v, want ErrTokenKey", err)
	}
	if gotoauth.Classify(err) == gotoauth.Permanent {
		t.Fatal("an undecryptable value must never mean reauth_required")
	}
}

// A kms1 value decrypts only under its table's encryption context: local-kms
// refuses the data key to a cipher bound to another table (a copy of the
// item in another table reads nothing), and to a Decrypt with another
// context. That failure is transient, never reauth_required.
func TestKMSValueDecryptsOnlyWithTheTablesContext(t *testing.T) {
	f, _ := kmsFixture(t)
	lkms := testutil.KMS(t)
	item := testutil.Item(t, f.Raw, f.Table, "conn#k1")

	other, otherTable := testutil.Table(t)
	if _, err := other.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &otherTable, Item: item}); err != nil {
		t.Fatal(err)
	}
	elsewhere := store(t, other, otherTable, gotoauth.WithKMSCipher(kmsCipher(t, lkms.Endpoint(), otherTable)))
	_, err := elsewhere.Connection(context.Background(), "k1")
	if !errors.Is(err, gotoauth.ErrStore) || gotoauth.Classify(err) != gotoauth.Transient {
		t.Fatalf("another table's cipher read the copy: %v", err)
	}

	// The same at the KMS protocol: the data key's blob opens with the
	// table's context, not with another one, nor with none.
	blob := kmsBlob(t, testutil.S(item, "refresh_token"))
	client := lkms.Client()
	right := map[string]string{"service": "gotoconnector", "table": f.Table}
	if _, err := client.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: right}); err != nil {
		t.Fatalf("the table's own context: %v", err)
	}
	for _, ctx := range []map[string]string{
		{"service": "gotoconnector", "table": otherTable},
		{"service": "another", "table": f.Table},
		nil,
	} {
		if _, err := client.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ctx}); err == nil {
			t.Fatalf("decrypted under context %v", ctx)
		}
	}
}

// One process makes one GenerateDataKey per cache lifetime however many
// tokens it writes, and one Decrypt per distinct data key it reads.
func TestKMSDataKeyCache(t *testing.T) {
	f, writer := kmsFixture(t)
	for _, id := range []string{"k2", "k3", "k4"} {
		f.connect(id)
	}
	if c := writer.Calls(); c.GenerateDataKey != 1 || c.Decrypt != 0 {
		t.Fatalf("writer made %+v for 4 connections, want 1 GenerateDataKey and no Decrypt", c)
	}
	reader := kmsCipher(t, testutil.KMS(t).Endpoint(), f.Table)
	st := f.Store(gotoauth.WithKMSCipher(reader))
	for range 3 {
		for _, id := range []string{"k1", "k2", "k3", "k4"} {
			if _, err := st.Connection(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c := reader.Calls(); c.GenerateDataKey != 0 || c.Decrypt != 1 {
		t.Fatalf("reader made %+v for 12 reads of one data key, want 1 Decrypt", c)
	}
}

// KMS cut right after GoTo rotated the refresh token: GoTo's answer is
// kept and the write retried with the store's budget; once KMS is back it
// is stored, and the stored refresh token is GoTo's latest.
func TestKMSOutageAfterRotationLosesNothing(t *testing.T) {
	f := newFixture(t)
	lkms := testutil.KMS(t)
	proxy, err := faultproxy.Start(lkms.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	// The connection is written by another process (its own data key).
	f.StoreOptions = []gotoauth.StoreOption{gotoauth.WithKMSCipher(kmsCipher(t, lkms.Endpoint(), f.Table))}
	f.tok = f.connect("k1")

	// This process reads it (one Decrypt, cached), then KMS goes away as
	// soon as GoTo has answered: the new data key it needs cannot be had.
	k := kmsCipher(t, proxy.URL(), f.Table)
	st := f.Store(gotoauth.WithKMSCipher(k))
	if _, err := st.Connection(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	// Back after 2 s, well within the 60 s budget (raise the budget, not
	// the wait, if a loaded machine ever trips this).
	ts, err := gotoauth.NewTokenSource(st, cutAfterAnswer(f.client, proxy, 2*time.Second))
	if err == nil {
		err = ts.Tune(tuning.StoreRetryBudget(time.Minute))
	}
	if err != nil {
		t.Fatal(err)
	}
	res := ts.Refresh(context.Background(), "k1", true)
	if res.Outcome != sweep.Refreshed {
		t.Fatalf("outcome %s (%v)", res.Outcome, res.Err)
	}
	if proxy.Faults()[faultproxy.FaultCut] == 0 {
		t.Fatal("KMS was never cut: the test did not test the outage")
	}
	c, err := st.Connection(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if !f.GoTo.ValidRefreshToken(c.RefreshToken) || f.GoTo.ValidRefreshToken(f.tok.RefreshToken) {
		t.Fatal("the stored refresh token is not GoTo's latest")
	}
}

// A KMS that stays down past the store's budget makes the refresh a
// StoreFailed (counted like a DynamoDB outage), with GoTo's answer handed
// over, and nothing stored changed.
func TestKMSOutagePastBudgetIsAStoreFailure(t *testing.T) {
	f := newFixture(t)
	lkms := testutil.KMS(t)
	proxy, err := faultproxy.Start(lkms.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	k := kmsCipher(t, proxy.URL(), f.Table)
	f.StoreOptions = []gotoauth.StoreOption{gotoauth.WithKMSCipher(kmsCipher(t, lkms.Endpoint(), f.Table))}
	f.tok = f.connect("k1")
	st := f.Store(gotoauth.WithKMSCipher(k))
	if _, err := st.Connection(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	before := testutil.S(testutil.Item(t, f.Raw, f.Table, "conn#k1"), "refresh_token")
	ts, err := gotoauth.NewTokenSource(st, cutAfterAnswer(f.client, proxy, 0))
	if err == nil {
		err = ts.Tune(tuning.StoreRetryBudget(time.Second))
	}
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ts.Sweep(context.Background(), sweep.Options{IDs: []string{"k1"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StoreFailures != 1 || sum.Errors["k1"] != "store_unavailable" {
		t.Fatalf("%+v", sum)
	}
	if after := testutil.S(testutil.Item(t, f.Raw, f.Table, "conn#k1"), "refresh_token"); after != before {
		t.Fatal("the stored refresh token changed")
	}
}

// kmsBlob is the KMS ciphertext blob of an enc:kms1: value.
func kmsBlob(t *testing.T, value string) []byte {
	t.Helper()
	parts := strings.Split(value, ":")
	if len(parts) != 4 {
		t.Fatalf("not an enc:kms1: value")
	}
	blob, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// cutAfterAnswer is c with a transport that cuts proxy (KMS) as soon as
// GoTo has answered, and restores it after back (never, if zero).
func cutAfterAnswer(c *gotoauth.Client, proxy *faultproxy.Proxy, back time.Duration) *gotoauth.Client {
	cc := *c
	cc.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		proxy.Cut()
		if back > 0 {
			time.AfterFunc(back, proxy.Restore)
		}
		return resp, err
	})}
	return &cc
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A data key encrypts at most 10,000 tokens: the 10,001st asks for a new
// one.
func TestKMSDataKeyUsedAtMost10000Times(t *testing.T) {
	_, table := testutil.Table(t)
	k := kmsCipher(t, testutil.KMS(t).Endpoint(), table)
	blobs := map[string]bool{}
	for i := range 10001 {
		v, err := k.Encrypt(context.Background(), "tok", "c")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || i == 9999 || i == 10000 {
			blobs[strings.Split(v, ":")[2]] = true
		}
	}
	if c := k.Calls(); c.GenerateDataKey != 2 || len(blobs) != 2 {
		t.Fatalf("%+v, %d distinct data keys, want 2 GenerateDataKey", c, len(blobs))
	}
}
