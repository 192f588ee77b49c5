package connections_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	t      *testing.T
	clock  *testutil.Clock
	goTo   *gototest.Server
	db     *dynamodb.Client
	table  string
	logs   *testutil.Logs
	mu     sync.Mutex
	events []gotoauth.Event
	seen   []string // tokens that went by: none may be logged or published
}

func newWorld(t *testing.T, opts ...gototest.Option) *world {
	t.Helper()
	clock := testutil.NewClock(time.Now().Truncate(time.Second))
	srv := gototest.NewServer(append([]gototest.Option{gototest.WithClock(clock.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	db, table := testutil.Table(t)
	w := &world{t: t, clock: clock, goTo: srv, db: db, table: table, logs: &testutil.Logs{}}
	t.Cleanup(w.nothingSecretLeaked)
	return w
}

func (w *world) store() *gotoauth.Store {
	w.t.Helper()
	s, err := gotoauth.NewStore(w.db, w.table, gotoauth.WithClock(w.clock.Now))
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) client() *gotoauth.Client {
	return &gotoauth.Client{
		ClientID: w.goTo.ClientID, ClientSecret: w.goTo.ClientSecret, RedirectURL: "https://connector.example.com/callback",
		Endpoint:       gotoauth.Endpoint{AuthURL: w.goTo.AuthorizeURL(), TokenURL: w.goTo.TokenURL()},
		ConnectTimeout: time.Second, AnswerTimeout: 5 * time.Second, Now: w.clock.Now,
	}
}

// sink records the events published, as EventBridge would receive them.
func (w *world) sink() gotoauth.EventSink {
	return gotoauth.EventSinkFunc(func(_ context.Context, e gotoauth.Event) error {
		if b, err := e.MarshalJSON(); err != nil {
			w.t.Error(err)
		} else if err := openapitest.Event(e.Type, string(b)); err != nil {
			w.t.Error(err)
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
	w.t.Helper()
	store := w.store()
	ts, err := gotoauth.NewTokenSource(store, w.client(), gotoauth.WithCacheSize(0), gotoauth.WithEvents(w.sink()),
		gotoauth.WithLogger(w.logs.Logger()), gotoauth.WithStoreRetryBudget(2*time.Second), gotoauth.WithPollInterval(20*time.Millisecond))
	if err != nil {
		w.t.Fatal(err)
	}
	return &connections.App{Deps: connections.Static(store, ts), Events: w.sink(), Logger: w.logs.Logger(), Now: w.clock.Now, RequireIAM: true}
}

// connect runs consent and exchange for each id and stores the connection.
func (w *world) connect(ids ...string) {
	w.t.Helper()
	c := w.client()
	for _, id := range ids {
		back, err := w.goTo.Approve(c.AuthCodeURL("s"))
		if err != nil {
			w.t.Fatal(err)
		}
		tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
		if err != nil {
			w.t.Fatal(err)
		}
		w.seen = append(w.seen, tok.AccessToken, tok.RefreshToken)
		if _, err := w.store().SaveConnection(context.Background(), id, tok); err != nil {
			w.t.Fatal(err)
		}
	}
}

// markReauth has GoTo refuse the grants of ids for good, and refreshes them.
func (w *world) markReauth(ids ...string) {
	w.t.Helper()
	ts, err := gotoauth.NewTokenSource(w.store(), w.client())
	if err != nil {
		w.t.Fatal(err)
	}
	w.goTo.FailAlways(gototest.OAuthError(400, "invalid_grant", "revoked"))
	defer w.goTo.StopFailing()
	for _, id := range ids {
		w.clock.Advance(time.Second)
		if res := ts.Refresh(context.Background(), id, true); res.Outcome != gotoauth.ReauthRequired {
			w.t.Fatalf("marking %s: %s %v", id, res.Outcome, res.Err)
		}
	}
}

func (w *world) stored(id string) *gotoauth.Connection {
	w.t.Helper()
	c, err := w.store().Connection(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
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
	for _, s := range w.seen {
		if len(s) >= 8 && (strings.Contains(logs, s) || strings.Contains(published.String(), s)) {
			w.t.Errorf("a token (%d characters) is in the logs or an event", len(s))
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
	return testutil.S(testutil.Item(w.t, w.db, w.table, "conn#"+id), "lease_owner")
}
