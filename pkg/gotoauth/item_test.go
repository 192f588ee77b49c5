package gotoauth

import (
	"context"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Items written before the store read them through attributevalue (by
// hand-built attribute maps) read back the same: the item contract of
// DESIGN.md "DynamoDB items" did not move. The maps below are what the old
// code wrote, attribute by attribute, including enc:v1 tokens it sealed
// under key k1 of testCipher.
func TestItemsWrittenByTheOldCodeReadBack(t *testing.T) {
	db, table := testutil.Table(t)
	ctx := context.Background()
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	// A connection after a consent, a transient refresh failure, and a
	// refresher holding its lease.
	active := map[string]types.AttributeValue{
		"pk":                       s("conn#cust-old"),
		"connection_id":            s("cust-old"),
		"status":                   s("active"),
		"access_token":             s("enc:v1:k1:enmlUDaVW_WYzrXiFIHjVdoFHqDEjOVH7R0qZrC5idKFSiNr6qRpsTwXPzs"),
		"refresh_token":            s("enc:v1:k1:iAFWl40xqjpM6CgyM9D3uXOGV54o5GNPUB6XjAN1hQ7sMZp38cb4SN6_eeSp"),
		"access_token_expires_at":  n(1767229200),
		"refresh_token_expires_at": n(1769821200),
		"connected_at":             n(1767225600),
		"refreshed_at":             n(1767225600),
		"due_shard":                s(dueShard("cust-old")),
		"next_refresh_at":          n(1767312000),
		"version":                  n(3),
		"account_key":              s("1234567890"),
		"organizer_key":            s("8439885694023999999"),
		"email":                    s("old@example.com"),
		"first_name":               s("Ada"),
		"last_name":                s("Lovelace"),
		"account_type":             s("BUSINESS"),
		"failure_count":            n(2),
		"last_error":               s("temporarily_unavailable"),
		"last_error_at":            n(1767226000),
		"lease_owner":              s("refresher-7"),
		"lease_expires_at":         n(1767226060),
	}
	// A connection GoTo refused, as markReauthRequired left it (current
	// host: principal and scope, no keys; tokens stored plain, from before
	// encryption was turned on).
	reauth := map[string]types.AttributeValue{
		"pk":                       s("conn#cust-gone"),
		"connection_id":            s("cust-gone"),
		"status":                   s("reauth_required"),
		"access_token":             s("at-plain"),
		"refresh_token":            s("rt-plain"),
		"access_token_expires_at":  n(1767229200),
		"refresh_token_expires_at": n(1769821200),
		"connected_at":             n(1767225600),
		"refreshed_at":             n(1767225700),
		"version":                  n(5),
		"principal":                s("gone@example.com"),
		"scope":                    s("collab: identity:"),
		"reauth_reason":            s("invalid_grant"),
		"reauth_at":                n(1767226100),
		"reauth_from_version":      n(4),
		statusKeyAttr:              s("reauth_required"),
	}
	for _, item := range []map[string]types.AttributeValue{active, reauth} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	store, err := NewStore(db, table, WithTokenCipher(testCipher(t, "k2")))
	if err != nil {
		t.Fatal(err)
	}

	got, err := store.Connection(ctx, "cust-old")
	if err != nil {
		t.Fatal(err)
	}
	want := &Connection{
		ConnectionID: "cust-old", Status: StatusActive,
		AccessToken: "at-legacy-access", RefreshToken: "rt-legacy-refresh",
		AccessTokenExpiresAt: at(1767229200), RefreshTokenExpiresAt: at(1769821200),
		ConnectedAt: at(1767225600), RefreshedAt: at(1767225600),
		Identity: Identity{AccountKey: "1234567890", OrganizerKey: "8439885694023999999", Email: "old@example.com",
			FirstName: "Ada", LastName: "Lovelace", AccountType: "BUSINESS"},
		NextRefreshAt: at(1767312000), FailureCount: 2, LastError: "temporarily_unavailable", Revision: 3,
		leaseOwner: "refresher-7", leaseExpiresAt: at(1767226060),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old active item reads as\n%+v\nwant\n%+v", got, want)
	}

	got, err = store.Connection(ctx, "cust-gone")
	if err != nil {
		t.Fatal(err)
	}
	want = &Connection{
		ConnectionID: "cust-gone", Status: StatusReauthRequired,
		AccessToken: "at-plain", RefreshToken: "rt-plain",
		AccessTokenExpiresAt: at(1767229200), RefreshTokenExpiresAt: at(1769821200),
		ConnectedAt: at(1767225600), RefreshedAt: at(1767225700),
		Identity:     Identity{Principal: "gone@example.com", Scope: "collab: identity:"},
		ReauthReason: "invalid_grant", Revision: 5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old reauth item reads as\n%+v\nwant\n%+v", got, want)
	}
}

// SaveConnection writes the attributes, with the types, the old code wrote:
// a reader of the table (another version of the connector, an export)
// sees the same item.
func TestSaveConnectionWritesTheItemContract(t *testing.T) {
	db, table := testutil.Table(t)
	ctx := context.Background()
	now := time.Unix(1767225600, 0)
	cipher := testCipher(t, "k1")
	store, err := NewStore(db, table, WithTokenCipher(cipher), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	tok := &Token{AccessToken: "at-new", RefreshToken: "rt-new", Expiry: now.Add(time.Hour),
		Identity: Identity{AccountKey: "1", OrganizerKey: "2", Email: "e@example.com", FirstName: "F", LastName: "L", AccountType: "BUSINESS"}}
	// A reconnect over an item of another account: its principal and
	// bookkeeping must go.
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"pk": s("conn#cust-1"), "connection_id": s("cust-1"), "status": s("reauth_required"), "principal": s("other@example.com"),
		"version": n(7), "reauth_reason": s("invalid_grant"), "reauth_at": n(1), "reauth_from_version": n(6), statusKeyAttr: s("reauth_required"),
		"failure_count": n(3), "last_error": s("x"), "last_error_at": n(1), "connected_at": n(1),
	}}); err != nil {
		t.Fatal(err)
	}
	c, err := store.SaveConnection(ctx, "cust-1", tok)
	if err != nil {
		t.Fatal(err)
	}
	item := testutil.Item(t, db, table, "conn#cust-1")
	for _, k := range []string{"access_token", "refresh_token"} {
		sealed := testutil.S(item, k)
		if plain, err := cipher.Decrypt(sealed, "cust-1"); err != nil || plain != map[string]string{"access_token": "at-new", "refresh_token": "rt-new"}[k] || sealed[:10] != "enc:v1:k1:" {
			t.Errorf("%s = %q (opens to %q, %v)", k, sealed, plain, err)
		}
		item[k] = s("sealed")
	}
	sch := Schedule{}
	want := map[string]types.AttributeValue{
		"pk":                       s("conn#cust-1"),
		"connection_id":            s("cust-1"),
		"status":                   s("active"),
		"access_token":             s("sealed"),
		"refresh_token":            s("sealed"),
		"access_token_expires_at":  n(now.Add(time.Hour).Unix()),
		"refresh_token_expires_at": n(sch.RefreshTokenExpiry(now).Unix()),
		"connected_at":             n(now.Unix()),
		"refreshed_at":             n(now.Unix()),
		"due_shard":                s(dueShard("cust-1")),
		"next_refresh_at":          n(sch.Next(now, now.Add(time.Hour), sch.RefreshTokenExpiry(now)).Unix()),
		"version":                  n(8),
		"account_key":              s("1"),
		"organizer_key":            s("2"),
		"email":                    s("e@example.com"),
		"first_name":               s("F"),
		"last_name":                s("L"),
		"account_type":             s("BUSINESS"),
	}
	if !reflect.DeepEqual(item, want) {
		t.Errorf("stored item\n%v\nwant\n%v", describe(item), describe(want))
	}
	if c.Revision != 8 {
		t.Errorf("revision %d, want 8", c.Revision)
	}
}

// describe lists an item's attributes, sorted, for a readable failure.
func describe(item map[string]types.AttributeValue) []string {
	var out []string
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out = append(out, k+"=S:"+v.Value)
		case *types.AttributeValueMemberN:
			out = append(out, k+"=N:"+v.Value)
		default:
			out = append(out, k+"=?")
		}
	}
	sort.Strings(out)
	return out
}
