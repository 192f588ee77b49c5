package invoke

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// repoFile reads a file of the repository.
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	root, err := devenv.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// httpEvent decodes a sample HTTP API event strictly and checks it is
// consistent: payload 2.0, route and path, query string and parameters.
func httpEvent(t *testing.T, path, routeKey string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(repoFile(t, path)))
	dec.DisallowUnknownFields()
	var ev events.APIGatewayV2HTTPRequest
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	method, p, _ := strings.Cut(routeKey, " ")
	// The route's {parameters}, filled in from pathParameters.
	for k, v := range ev.PathParameters {
		if !strings.Contains(p, "{"+k+"}") {
			t.Errorf("%s: pathParameters has %s, which route %s does not", path, k, routeKey)
		}
		p = strings.ReplaceAll(p, "{"+k+"}", url.PathEscape(v))
	}
	if strings.Contains(p, "{") {
		t.Errorf("%s: pathParameters %v do not fill route %s", path, ev.PathParameters, routeKey)
	}
	rc := ev.RequestContext
	if ev.Version != "2.0" || ev.RouteKey != routeKey || rc.RouteKey != routeKey || ev.RawPath != p ||
		rc.HTTP.Method != method || rc.HTTP.Path != p || rc.Stage != "$default" || rc.RequestID == "" ||
		rc.DomainName != ev.Headers["host"] || !strings.HasPrefix(rc.DomainName, rc.APIID+".execute-api.") ||
		rc.TimeEpoch == 0 || rc.HTTP.SourceIP == "" || rc.HTTP.UserAgent != ev.Headers["user-agent"] {
		t.Errorf("%s is not a consistent %s event: %+v", path, routeKey, ev)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time); err != nil {
		t.Errorf("%s: requestContext.time: %v", path, err)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) || k == "cookie" {
			t.Errorf("%s: header %q (API Gateway sends lower-case names, and cookies in the cookies field)", path, k)
		}
	}
	q, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		t.Fatalf("%s: rawQueryString: %v", path, err)
	}
	if len(q) != len(ev.QueryStringParameters) {
		t.Errorf("%s: queryStringParameters %v do not match rawQueryString", path, ev.QueryStringParameters)
	}
	for k, v := range ev.QueryStringParameters {
		if strings.Join(q[k], ",") != v {
			t.Errorf("%s: queryStringParameters[%s] = %q, rawQueryString has %q", path, k, v, q[k])
		}
	}
	return ev
}

func TestSampleAuthorizeEvent(t *testing.T) {
	ev := httpEvent(t, "events/authorize.json", "GET /authorize")
	q, _ := url.ParseQuery(ev.RawQueryString)
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Signed with make run's local key; it has expired since (links live
	// minutes), which make invoke mends by re-signing.
	link, err := gotoauth.VerifyLink(q, []byte("local-development-link-signing-key"), time.Unix(exp-1, 0))
	if err != nil {
		t.Fatalf("the sample link is not signed with the local key: %v", err)
	}
	vars, err := ParseEnvVars(repoFile(t, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := vars.Overrides("AuthorizeFunction")
	if env["GOTO_LINK_SIGNING_KEY"] != "local-development-link-signing-key" || env["GOTO_SECRET_ID"] != "" {
		t.Errorf("env.json does not give AuthorizeFunction the local key the sample is signed with")
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if link.ConnectionID != "demo-customer" || !cfg.ReturnToAllowed(link.ReturnTo) {
		t.Errorf("link %+v: return_to must be on an origin env.json allows (%v)", link, cfg.AllowedReturnOrigins)
	}
}

func TestSampleCallbackEvents(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"events/callback.json", "code"},
		{"events/callback-denied.json", "error"},
	} {
		ev := httpEvent(t, tc.path, "GET /callback")
		q, _ := url.ParseQuery(ev.RawQueryString)
		state := q.Get("state")
		if len(state) < 22 || q.Get(tc.want) == "" {
			t.Errorf("%s: query %v needs state and %s", tc.path, q, tc.want)
		}
		if tc.want == "error" && q.Get("error") != "access_denied" {
			t.Errorf("%s: error=%q, want access_denied", tc.path, q.Get("error"))
		}
		sum := sha256.Sum256([]byte(state))
		name := "goto_connect_" + hex.EncodeToString(sum[:8])
		found := false
		for _, line := range ev.Cookies {
			cookies, err := http.ParseCookie(line)
			if err != nil {
				t.Errorf("%s: cookie %q: %v", tc.path, line, err)
			}
			for _, c := range cookies {
				found = found || (c.Name == name && len(c.Value) >= 22)
			}
		}
		if !found {
			t.Errorf("%s: no binding cookie %s for its state in the cookies field %q", tc.path, name, ev.Cookies)
		}
	}
}

func TestSampleRefreshEvents(t *testing.T) {
	var sched events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(repoFile(t, "events/schedule.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sched); err != nil {
		t.Fatal(err)
	}
	if sched.DetailType != "Scheduled Event" || sched.Source != "aws.events" || len(sched.Resources) != 1 ||
		!strings.HasPrefix(sched.Resources[0], "arn:aws:events:") || sched.Time.IsZero() {
		t.Errorf("schedule.json is not an EventBridge scheduled event: %+v", sched)
	}
	var manual refresh.ManualRequest
	dec = json.NewDecoder(bytes.NewReader(repoFile(t, "events/refresh-manual.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&manual); err != nil {
		t.Fatal(err)
	}
	if len(manual.ConnectionIDs) != 1 || manual.ConnectionIDs[0] != "demo-customer" || !manual.Force {
		t.Errorf("refresh-manual.json = %+v", manual)
	}
}

// The Connections API's samples: one per route, signed with SigV4 and
// authorized by API Gateway with IAM (requestContext.authorizer.iam).
func TestSampleConnectionsEvents(t *testing.T) {
	samples := map[string]string{
		connections.RouteGet:    "events/connection-get.json",
		connections.RouteToken:  "events/connection-token.json",
		connections.RouteDelete: "events/connection-delete.json",
		connections.RouteList:   "events/connections-list.json",
	}
	if len(samples) != len(connections.Routes) {
		t.Fatalf("%d samples for %d routes", len(samples), len(connections.Routes))
	}
	for _, route := range connections.Routes {
		path, ok := samples[route]
		if !ok {
			t.Errorf("no sample event for %s", route)
			continue
		}
		ev := httpEvent(t, path, route)
		az := ev.RequestContext.Authorizer
		if az == nil || az.IAM == nil || !strings.HasPrefix(az.IAM.UserARN, "arn:aws:iam::"+az.IAM.AccountID+":") ||
			az.IAM.AccessKey == "" || az.IAM.CallerID == "" || az.IAM.AccountID != ev.RequestContext.AccountID {
			t.Errorf("%s: requestContext.authorizer.iam %+v is not what API Gateway sends for an IAM-authorized call", path, az)
		}
		if auth := ev.Headers["authorization"]; !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+az.IAM.AccessKey+"/") ||
			!strings.Contains(auth, "/execute-api/aws4_request") {
			t.Errorf("%s: authorization %q is not a SigV4 signature for execute-api", path, auth)
		}
		if route != connections.RouteList && ev.PathParameters["connection_id"] != "demo-customer" {
			t.Errorf("%s: connection_id %q, want the demo connection make run prints", path, ev.PathParameters["connection_id"])
		}
	}
}
