package connections_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// world is a table, a clock shared by the connector and GoTo, GoTo, and
// what the handlers logged and published.
type world struct {
	*tw.World
	logs   *testutil.Logs
	mu     sync.Mutex
	events []gotoauth.Event
	seen   []string // tokens read back: none may be logged or published
}

func newWorld(t *testing.T, opts ...gototest.Option) *world {
	t.Helper()
	w := &world{World: tw.New(t, opts...), logs: &testutil.Logs{}}
	t.Cleanup(w.nothingSecretLeaked)
	return w
}

// sink records the events published, as EventBridge would receive them.
func (w *world) sink() gotoauth.EventSink {
	return gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		if b, err := e.MarshalJSON(); err != nil {
			w.T.Error(err)
		} else if err := openapitest.Event(e.Type, string(b)); err != nil {
			w.T.Error(err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events = append(w.events, e)
		return nil
	})
}

func (w *world) published() []gotoauth.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]gotoauth.Event(nil), w.events...)
}

// app is one connections function (one process): its own TokenSource, as
// NewApp builds it (no token cache), on the shared table.
func (w *world) app() *connections.App {
	w.T.Helper()
	ts := w.Source([]gotoauth.Option{gotoauth.WithCacheSize(0), gotoauth.WithEvents(w.sink()), gotoauth.WithLogger(w.logs.Logger())})
	return &connections.App{Deps: connections.Static(w.Store(), ts), Events: w.sink(), Logger: w.logs.Logger(), Now: w.Clock.Now, RequireIAM: true}
}

// stored is connection id as stored; its tokens join those that must not
// leak.
func (w *world) stored(id string) *gotoauth.Connection {
	w.T.Helper()
	c := w.Stored(id)
	w.seen = append(w.seen, c.AccessToken, c.RefreshToken)
	return c
}

// nothingSecretLeaked checks no token that went by is in the logs or in an
// event.
func (w *world) nothingSecretLeaked() {
	var published strings.Builder
	for _, e := range w.published() {
		b, _ := e.MarshalJSON()
		published.Write(b)
	}
	logs := w.logs.String()
	seen := w.seen
	for _, tok := range w.Tokens {
		seen = append(seen, tok.AccessToken, tok.RefreshToken)
	}
	for _, s := range seen {
		if len(s) >= 8 && (strings.Contains(logs, s) || strings.Contains(published.String(), s)) {
			w.T.Errorf("a token (%d characters) is in the logs or an event", len(s))
		}
	}
}

// request is the payload 2.0 event API Gateway sends for an IAM-signed call.
func request(routeKey, id, rawQuery string) connections.Request {
	method, path, _ := strings.Cut(routeKey, " ")
	var params map[string]string
	if id != "" {
		path = strings.Replace(path, "{connection_id}", url.PathEscape(id), 1)
		params = map[string]string{"connection_id": id}
	}
	q, _ := url.ParseQuery(rawQuery)
	var qp map[string]string
	for k, vs := range q {
		if qp == nil {
			qp = map[string]string{}
		}
		qp[k] = strings.Join(vs, ",")
	}
	return connections.Request{
		Version: "2.0", RouteKey: routeKey, RawPath: path, RawQueryString: rawQuery,
		PathParameters: params, QueryStringParameters: qp,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, Stage: "$default", RequestID: "req-1",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
					AccessKey: "AKIAEXAMPLE", AccountID: "123456789012", CallerID: "AIDAEXAMPLE",
					UserARN: "arn:aws:iam::123456789012:user/saas-backend", UserID: "AIDAEXAMPLE",
				},
			},
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

// call sends req to app and decodes the JSON answer into a map, checking
// what every answer must have.
func call(t *testing.T, app *connections.App, req connections.Request) (int, map[string]any, connections.Response) {
	t.Helper()
	resp, err := app.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: handler error %v", req.RouteKey, err)
	}
	openapitest.Lambda(t, req.RouteKey, req, resp)
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("%s: headers %v, want Content-Type application/json and Cache-Control no-store", req.RouteKey, resp.Headers)
	}
	var body map[string]any
	if resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("%s: %d body %q is not JSON: %v", req.RouteKey, resp.StatusCode, resp.Body, err)
		}
	} else if resp.Body != "" {
		t.Errorf("204 with a body %q", resp.Body)
	}
	return resp.StatusCode, body, resp
}

// wantError checks an error answer.
func wantError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Errorf("%s: %d %v, want %d {\"error\": %q}", what, status, body, wantStatus, wantCode)
	}
	if wantCode == "invalid_request" && body["message"] == "" {
		t.Errorf("%s: 400 without a message", what)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// leaseOwner is the holder of the connection's refresh lease, "" if none.
func (w *world) leaseOwner(id string) string {
	return testutil.S(testutil.Item(w.T, w.Raw, w.Table, "conn#"+id), "lease_owner")
}
