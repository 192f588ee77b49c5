package localrun_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/localrun"
	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// make run serves the Connections API on loopback, without IAM, with the
// id taken from the path as API Gateway takes it.
func TestLocalConnectionsAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := localrun.Start(ctx, localrun.Options{Port: "0", SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()

	// A connection, as the callback stores it.
	c := &gotoauth.Client{ClientID: stack.GoTo.ClientID, ClientSecret: stack.GoTo.ClientSecret, RedirectURL: stack.Config.RedirectURI,
		Endpoint: stack.Config.Endpoint}
	back, err := stack.GoTo.Approve(c.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Exchange(ctx, back.Query().Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := gotoauth.NewStore(stack.DB, stack.Config.TableName)
	if err != nil {
		t.Fatal(err)
	}
	const id = "local:test.customer_1"
	if _, err := store.SaveConnection(ctx, id, tok); err != nil {
		t.Fatal(err)
	}

	// Every exchange is checked against api/openapi.yaml.
	client := &http.Client{Transport: openapitest.Transport(t, nil)}
	do := func(method, path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, stack.BaseURL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: headers %v", method, path, resp.Header)
		}
		var body map[string]any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode, body
	}
	if status, body := do("GET", "/connections/"+id+"/token"); status != 200 || body["access_token"] != tok.AccessToken {
		t.Fatalf("token: %d %v", status, body)
	}
	if status, body := do("GET", "/connections/"+id); status != 200 || body["connection_id"] != id || body["status"] != "active" {
		t.Fatalf("get: %d %v", status, body)
	}
	if status, body := do("GET", "/connections?status=reauth_required"); status != 200 || body["connections"] == nil {
		t.Fatalf("list: %d %v", status, body)
	}
	if status, _ := do("DELETE", "/connections/"+id); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	// make run revokes at its gototest: the refresh token is dead.
	if stack.GoTo.Revocations() != 1 || stack.GoTo.ValidRefreshToken(tok.RefreshToken) {
		t.Fatalf("after delete: %d revocations, refresh token valid %v", stack.GoTo.Revocations(), stack.GoTo.ValidRefreshToken(tok.RefreshToken))
	}
	if status, body := do("GET", "/connections/"+id+"/token"); status != 404 || body["error"] != "not_found" {
		t.Fatalf("token after delete: %d %v", status, body)
	}
	if status, body := do("GET", "/connections/"+strings.Repeat("x", 129)); status != 400 {
		t.Fatalf("long id: %d %v", status, body)
	}
}
