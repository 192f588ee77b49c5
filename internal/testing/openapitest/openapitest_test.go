package openapitest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/api"
	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// api/openapi.yaml is a valid OpenAPI document with every route the
// functions serve and a schema for every lifecycle event they publish.
func TestDocument(t *testing.T) {
	c, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range append([]string{"GET /authorize", "GET /callback"}, connections.Routes...) {
		if !c.HasRoute(route) {
			t.Errorf("api/openapi.yaml has no operation for %s", route)
		}
	}
	types, _ := openapitest.EventTypes()
	want := []string{gotoauth.EventConnected, gotoauth.EventDisconnected, gotoauth.EventReauthRequired, gotoauth.EventRecovered, gotoauth.EventRefreshFailing}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("event schemas for %v, want %v", types, want)
	}
}

// A broken document is refused: the check that runs in make test can fail.
func TestBrokenDocument(t *testing.T) {
	for name, edit := range map[string][2]string{
		"dangling reference": {`$ref: "#/components/schemas/Token"`, `$ref: "#/components/schemas/Tokens"`},
		"bad type":           {"type: integer\n            minimum: 0\n            maximum: 3000", "type: integr\n            minimum: 0\n            maximum: 3000"},
		"not YAML":           {"openapi: 3.0.3", "openapi: [3.0.3"},
	} {
		broken := bytes.Replace(api.OpenAPI, []byte(edit[0]), []byte(edit[1]), 1)
		if bytes.Equal(broken, api.OpenAPI) {
			t.Fatalf("%s: %q is not in the document", name, edit[0])
		}
		if _, err := openapitest.Parse(broken); err == nil {
			t.Errorf("%s: the broken document was accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// A detail that leaves its schema, or an unknown detail-type, is reported.
func TestEventCheck(t *testing.T) {
	good := `{"connection_id":"c-1","status":"active","email":"a@example.com","at":"2026-03-01T11:30:00Z"}`
	if err := openapitest.Event(gotoauth.EventConnected, good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{
		{gotoauth.EventConnected, `{"connectionId":"c-1","status":"active","at":"2026-03-01T11:30:00Z"}`},
		{gotoauth.EventConnected, `{"connection_id":"c-1","status":"active","at":"2026-03-01T12:30:00+01:00"}`},
		{gotoauth.EventReauthRequired, `{"connection_id":"c-1","status":"reauth_required","at":"2026-03-01T11:30:00Z"}`},
		{gotoauth.EventConnected, `{"connection_id":"c-1","status":"active","at":"2026-03-01T11:30:00Z","access_token":"x"}`},
		{"connection.unknown", good},
	} {
		if err := openapitest.Event(bad[0], bad[1]); err == nil {
			t.Errorf("%s %s was accepted", bad[0], bad[1])
		}
	}
}
