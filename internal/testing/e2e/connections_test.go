package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// The IAM principal API Gateway authorized: the SaaS backend.
const backendARN = "arn:aws:iam::" + invoke.AccountID + ":role/saas-backend"

// connectionsEvent is the payload 2.0 event API Gateway sends the
// connections function for a SigV4-signed call it authorized with IAM.
func connectionsEvent(routeKey, id, rawQuery string) events.APIGatewayV2HTTPRequest {
	ev := httpEvent(routeKey, rawQuery)
	if id != "" {
		ev.RawPath = strings.Replace(ev.RawPath, "{connection_id}", url.PathEscape(id), 1)
		ev.PathParameters = map[string]string{"connection_id": id}
	}
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.RequestContext.HTTP.Method, _, _ = strings.Cut(routeKey, " ")
	ev.Headers["accept"] = "*/*"
	ev.Headers["authorization"] = "AWS4-HMAC-SHA256 Credential=ASIAE2ETESTKEY/20261129/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd"
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: "ASIAE2ETESTKEY", AccountID: invoke.AccountID, CallerID: "AROAE2ETEST:backend",
			UserARN: backendARN, UserID: "AROAE2ETEST:backend",
		},
	}
	return ev
}

// api calls the connections function and decodes its JSON answer.
func (s *stack) api(routeKey, id, rawQuery string) (int, map[string]any) {
	s.t.Helper()
	resp := s.http("ConnectionsFunction", connectionsEvent(routeKey, id, rawQuery))
	if resp.Headers["Content-Type"] != "application/json" {
		s.t.Fatalf("%s: Content-Type %q", routeKey, resp.Headers["Content-Type"])
	}
	var body map[string]any
	if resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			s.t.Fatalf("%s: %d %q: %v", routeKey, resp.StatusCode, resp.Body, err)
		}
	}
	if tok, ok := body["access_token"].(string); ok {
		s.seen = append(s.seen, tok)
	}
	return resp.StatusCode, body
}

// token calls the token route and fails the test unless it answers 200.
func (s *stack) token(id, rawQuery string) map[string]any {
	s.t.Helper()
	status, body := s.api("GET /connections/{connection_id}/token", id, rawQuery)
	if status != http.StatusOK {
		s.t.Fatalf("token of %s: %d %v", id, status, body)
	}
	return body
}

// connectByBrowser runs a connect flow through authorize, GoTo and callback.
func (s *stack) connectByBrowser(id string) {
	s.t.Helper()
	link, err := gotoauth.SignLink("https://"+apiDomain+"/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: time.Now().Add(15 * time.Minute)})
	if err != nil {
		s.t.Fatal(err)
	}
	u, _ := url.Parse(link)
	resp := s.http("AuthorizeFunction", httpEvent("GET /authorize", u.RawQuery))
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		s.t.Fatal(err)
	}
	back, err := s.goTo.Approve(resp.Headers["Location"])
	if err != nil {
		s.t.Fatal(err)
	}
	r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"="+c.Value))
	if r.StatusCode != http.StatusFound || !strings.Contains(r.Headers["Location"], "status=connected") {
		s.t.Fatalf("callback: %d %s", r.StatusCode, r.Headers["Location"])
	}
}

// TestLambdaConnectionsAPI: a backend uses every route of the Connections
// API through the real bootstrap, and every lifecycle event arrives on
// EventBridge, through the AWS SDK, with its content and without a token.
func TestLambdaConnectionsAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const id = "e2e:api.customer-1"
	s.connectByBrowser(id)
	access, _ := s.tokens(s.connection(id))

	status, body := s.api("GET /connections/{connection_id}", id, "")
	ident := gototest.DefaultIdentity()
	if status != http.StatusOK || body["connection_id"] != id || body["status"] != "active" || body["email"] != ident.Email ||
		body["account_key"] != ident.AccountKey || body["access_token_expires_at"] == nil || body["access_token"] != nil {
		t.Fatalf("GET: %d %v", status, body)
	}

	// The stored token has more than the default 300 s left: as stored.
	tok := s.token(id, "")
	if tok["access_token"] != access || tok["token_type"] != "Bearer" || tok["organizer_key"] != ident.OrganizerKey ||
		s.goTo.RefreshRequests() != 0 {
		t.Fatalf("token: %v, %d refreshes", tok, s.goTo.RefreshRequests())
	}
	// With a minute left (as an hour after connecting), the default
	// min_valid is more than it has: refreshed through the lease first.
	s.expireAccessTokenIn(id, time.Minute)
	tok = s.token(id, "")
	access2, _ := s.tokens(s.connection(id))
	if tok["access_token"] != access2 || access2 == access || !s.goTo.ValidAccessToken(access2) || s.goTo.RefreshRequests() != 1 {
		t.Fatalf("min_valid=3000: %v, %d refreshes", tok, s.goTo.RefreshRequests())
	}
	// GoTo then refuses the grant for good: 409, and the connection is
	// listed for re-authorization.
	s.goTo.FailAlways(gototest.OAuthError(400, "invalid_grant", "revoked"))
	s.expireAccessTokenIn(id, time.Minute)
	status, body = s.api("GET /connections/{connection_id}/token", id, "")
	if status != http.StatusConflict || body["error"] != "reauth_required" || body["reason"] != "invalid_grant" {
		t.Fatalf("dead grant: %d %v", status, body)
	}
	s.goTo.StopFailing()
	status, body = s.api("GET /connections", "", "status=reauth_required&limit=10")
	list, _ := body["connections"].([]any)
	if status != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["connection_id"] != id || body["next_cursor"] != nil {
		t.Fatalf("list: %d %v", status, body)
	}
	status, body = s.api("GET /connections", "", "status=reauth_required&cursor=bogus")
	if status != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("bad cursor: %d %v", status, body)
	}

	// The customer leaves: DELETE, then nothing is left.
	if status, body = s.api("DELETE /connections/{connection_id}", id, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	if s.connection(id) != nil {
		t.Fatal("the item is still stored")
	}
	if status, body = s.api("GET /connections/{connection_id}/token", id, ""); status != http.StatusNotFound || body["error"] != "not_found" {
		t.Fatalf("token after DELETE: %d %v", status, body)
	}
	if status, _ = s.api("DELETE /connections/{connection_id}", id, ""); status != http.StatusNoContent {
		t.Fatalf("second DELETE: %d", status)
	}

	// The events, in order, as EventBridge received them.
	var types []string
	for _, e := range s.events.Entries() {
		types = append(types, e.DetailType)
		if e.Source != "gotoconnector" || e.EventBusName != eventBus {
			t.Errorf("event %+v: source or bus", e)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatalf("detail %q: %v", e.Detail, err)
		}
		at, err := time.Parse(time.RFC3339, d["at"].(string))
		if d["connection_id"] != id || err != nil || time.Since(at) > 5*time.Minute || d["email"] != ident.Email {
			t.Errorf("%s detail %v", e.DetailType, d)
		}
		want := map[string]string{
			"connection.connected": "active", "connection.reauth_required": "reauth_required", "connection.disconnected": "disconnected",
		}[e.DetailType]
		if d["status"] != want {
			t.Errorf("%s: status %v, want %s", e.DetailType, d["status"], want)
		}
		if e.DetailType == "connection.reauth_required" && d["reason"] != "invalid_grant" {
			t.Errorf("reauth_required without its reason: %v", d)
		}
		for _, secret := range s.seen {
			if len(secret) >= 8 && strings.Contains(e.Detail, secret) {
				t.Errorf("%s carries a token or secret", e.DetailType)
			}
		}
	}
	if want := []string{"connection.connected", "connection.reauth_required", "connection.disconnected"}; !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
}

// expireAccessTokenIn moves the stored access token's expiry to d from now,
// as if it had been stored that long ago.
func (s *stack) expireAccessTokenIn(id string, d time.Duration) {
	s.t.Helper()
	_, err := s.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#" + id}},
		UpdateExpression:          aws.String("SET access_token_expires_at = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(d).Unix(), 10)}},
	})
	if err != nil {
		s.t.Fatal(err)
	}
}
