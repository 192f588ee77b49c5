package gotoauth_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// eventBridgeClient is the SDK's real client, talking to the fake endpoint.
func eventBridgeClient(url string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1,
	})
}

func TestEventBridgeSink(t *testing.T) {
	eb := testutil.NewEventBridge(t)
	sink := gotoauth.NewEventBridgeSink(eventBridgeClient(eb.URL()), "connector-bus")
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	c := &gotoauth.Connection{ConnectionID: "cust-9", Status: gotoauth.StatusReauthRequired,
		Identity: gotoauth.Identity{Email: "a@example.com", AccountKey: "123"}, AccessToken: "secret-access-token-value", RefreshToken: "secret-refresh-token-value"}
	if err := sink(context.Background(), c.Event(gotoauth.EventReauthRequired, "invalid_grant", at)); err != nil {
		t.Fatal(err)
	}
	entries := eb.Entries()
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Source != "gotoconnector" || e.DetailType != "connection.reauth_required" || e.EventBusName != "connector-bus" {
		t.Fatalf("entry %+v", e)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"connection_id": "cust-9", "status": "reauth_required", "reason": "invalid_grant",
		"email": "a@example.com", "account_key": "123", "at": "2026-03-01T11:30:00Z"}
	if len(detail) != len(want) {
		t.Errorf("detail %v, want %v", detail, want)
	}
	for k, v := range want {
		if detail[k] != v {
			t.Errorf("detail[%s] = %v, want %v", k, detail[k], v)
		}
	}
	if strings.Contains(e.Detail, "secret-") {
		t.Error("a token is in the event")
	}

	// A failure to publish is an error for the caller to log.
	eb.Fail(true)
	if err := sink(context.Background(), c.Event(gotoauth.EventDisconnected, "", at)); err == nil {
		t.Fatal("Publish succeeded against a failing endpoint")
	}
	if err := gotoauth.NewEventBridgeSink(nil, "b")(context.Background(), gotoauth.Event{}); err == nil {
		t.Fatal("a sink without a client published")
	}
}
