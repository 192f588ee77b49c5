package connect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// The handlers' fuzz targets run against the real store on DynamoDB Local
// and a real gototest. Random input is refused before either is touched
// (a link must verify, a state must have the connector's form and come with
// its cookie), so the fuzzer spends its time where input is checked; flags
// in the input make it also sign its links and run real flows, so that the
// paths behind the checks get fuzzed too. Seed corpora: testdata/fuzz/.

// countingDB is the real DynamoDB client, counting the writes that
// succeeded, so that a test sees whether a refused request stored anything,
// and every call of the connect flow's kinds.
type countingDB struct {
	*dynamodb.Client
	writes atomic.Int64
	calls  atomic.Int64
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.calls.Add(1)
	return c.Client.DeleteItem(ctx, in, opts...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.calls.Add(1)
	out, err := c.Client.PutItem(ctx, in, opts...)
	if err == nil {
		c.writes.Add(1)
	}
	return out, err
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls.Add(1)
	out, err := c.Client.UpdateItem(ctx, in, opts...)
	if err == nil {
		c.writes.Add(1)
	}
	return out, err
}

// fuzzEnv is one connector for a whole fuzz run.
func fuzzEnv(f *testing.F) (*env, *countingDB) {
	e := newEnv(f, callbackHT)
	db := &countingDB{Client: e.db}
	e.app.DB = db
	return e, db
}

// checkAnswer holds for every answer of either handler: no error, no 5xx
// (the store and GoTo are healthy), the security headers.
func checkAnswer(t *testing.T, r connect.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	if r.StatusCode >= 500 || r.StatusCode < 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	for k, v := range connect.SecurityHeaders() {
		if r.Headers[k] != v {
			t.Fatalf("%d answer without %s: %v", r.StatusCode, k, r.Headers)
		}
	}
}

// secretLike reports whether s is worth looking for in logs: long enough
// and random-looking, so that it cannot be a word of a log line.
func secretLike(s string) bool {
	return len(s) >= 16 && strings.IndexFunc(s, unicode.IsDigit) >= 0 && strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// FuzzAuthorize feeds GET /authorize any query; with sign set, a link
// signed with the right key over the fuzzed fields, followed by the fuzzed
// query. Invariants: no panic, no 5xx; a 302 goes to GoTo's authorize URL
// only, for a link that verifies with an allowed return_to, and stores one
// pending state; any other answer sets no cookie and stores nothing; the
// signature is never logged.
func FuzzAuthorize(f *testing.F) {
	e, db := fuzzEnv(f)
	f.Add("", "cust-1", returnTo, int64(900), true)
	f.Fuzz(func(t *testing.T, rawQuery, connectionID, returnTo string, ttl int64, sign bool) {
		e.t = t
		query := rawQuery
		if sign {
			l := gotoauth.Link{ConnectionID: connectionID, ReturnTo: returnTo, Expires: time.Unix(e.clock.Now().Unix()+ttl, 0)}
			v := url.Values{"connection_id": {connectionID}, "expires": {strconv.FormatInt(l.Expires.Unix(), 10)}, "signature": {l.Signature([]byte(linkKey))}}
			if returnTo != "" {
				v.Set("return_to", returnTo)
			}
			query = v.Encode()
			if rawQuery != "" {
				query += "&" + rawQuery
			}
		}
		logs := &testutil.Logs{}
		e.app.Logger = logs.Logger()
		before := db.writes.Load()
		r, err := e.app.Authorize(context.Background(), connect.Request{RawQueryString: query})
		checkAnswer(t, r, err)
		writes := db.writes.Load() - before

		q, _ := url.ParseQuery(query)
		if sig := q.Get("signature"); secretLike(sig) && strings.Contains(logs.String(), sig) && !loggedAsOther(q, sig) {
			t.Fatal("the signature is logged")
		}
		if r.StatusCode != http.StatusFound {
			if len(r.Cookies) != 0 || writes != 0 {
				t.Fatalf("%d answer set cookies %v and stored %d items", r.StatusCode, r.Cookies, writes)
			}
			return
		}
		if !strings.HasPrefix(r.Headers["Location"], e.goto_.AuthorizeURL()+"?") {
			t.Fatalf("redirect off GoTo: %s", r.Headers["Location"])
		}
		l, err := gotoauth.VerifyLink(q, []byte(linkKey), e.clock.Now())
		if err != nil {
			t.Fatalf("redirected for a link that does not verify: %v", err)
		}
		if l.ReturnTo != "" && !e.app.Config.ReturnToAllowed(l.ReturnTo) {
			t.Fatalf("accepted return_to %q off the allowed origins", l.ReturnTo)
		}
		if len(r.Cookies) != 1 || writes != 1 {
			t.Fatalf("302 with cookies %v and %d items stored, want 1 and 1", r.Cookies, writes)
		}
	})
}

// loggedAsOther reports whether the value also came as another parameter,
// which may be logged (a connection id is).
func loggedAsOther(q url.Values, v string) bool {
	for k, vs := range q {
		for _, x := range vs {
			if k != "signature" && strings.Contains(x, v) {
				return true
			}
		}
	}
	return false
}

// Flags of FuzzCallback's flow byte.
const (
	flowStart      = 1 << iota // run /authorize first (a real pending state and cookie)
	flowState                  // append the real state to the query
	flowCookie                 // send the real binding cookie
	flowApprove                // approve at GoTo and append the real code
	flowDeny                   // deny at GoTo and append its error
	flowReturnTo               // the link has a return_to
	flowOtherState             // the cookie of another flow
)

var fuzzFlows atomic.Int64

// FuzzCallback feeds GET /callback any query and cookie, after an
// optional real flow whose state, cookie and code the flags mix in.
// Invariants: no panic, no 5xx; a 302 goes only to the flow's allowed
// return_to; a connection is stored only for the one callback that
// carries the real state, cookie and code; a code is exchanged at most
// once; no state, code or cookie value is logged.
func FuzzCallback(f *testing.F) {
	e, db := fuzzEnv(f)
	f.Add("", "", uint8(flowStart|flowState|flowCookie|flowApprove|flowReturnTo))
	f.Fuzz(func(t *testing.T, rawQuery, cookie string, flow uint8) {
		e.t = t
		query, cookies := rawQuery, []string{cookie}
		var secrets []string
		if cookie != "" {
			if _, v, ok := strings.Cut(cookie, "="); ok {
				secrets = append(secrets, v)
			}
		}
		var state, realCookie string
		if flow&flowStart != 0 {
			rt := ""
			if flow&flowReturnTo != 0 {
				rt = returnTo
			}
			consent, c := e.start(fmt.Sprintf("fz-%d", fuzzFlows.Add(1)), rt)
			u, _ := url.Parse(consent)
			state, realCookie = u.Query().Get("state"), c
			_, v, _ := strings.Cut(c, "=")
			secrets = append(secrets, state, v)
			if flow&flowState != 0 {
				query += "&state=" + url.QueryEscape(state)
			}
			if flow&flowCookie != 0 {
				cookies = append(cookies, realCookie)
			}
			if flow&flowOtherState != 0 {
				_, other := e.start(fmt.Sprintf("fz-%d", fuzzFlows.Add(1)), rt)
				cookies = append(cookies, other)
			}
			switch {
			case flow&flowApprove != 0:
				back, err := e.goto_.Approve(consent)
				if err != nil {
					t.Fatal(err)
				}
				code := back.Query().Get("code")
				secrets = append(secrets, code)
				query += "&code=" + url.QueryEscape(code)
			case flow&flowDeny != 0:
				query += "&error=access_denied"
			}
		}
		logs := &testutil.Logs{}
		e.app.Logger = logs.Logger()
		writes, exchanges := db.writes.Load(), e.goto_.ExchangeRequests()
		r, err := e.app.Callback(context.Background(), connect.Request{RawQueryString: query, Cookies: cookies})
		checkAnswer(t, r, err)
		writes, exchanges = db.writes.Load()-writes, e.goto_.ExchangeRequests()-exchanges

		for _, s := range secrets {
			if len(s) >= 8 && strings.Contains(logs.String(), s) {
				t.Fatal("a state, code or cookie value is logged")
			}
		}
		if exchanges > 1 {
			t.Fatalf("%d code exchanges for one callback", exchanges)
		}
		if r.StatusCode == http.StatusFound {
			loc := r.Headers["Location"]
			if !strings.HasPrefix(loc, returnTo) || !e.app.Config.ReturnToAllowed(loc) {
				t.Fatalf("redirect off the flow's return_to: %s", loc)
			}
		}
		connected := r.StatusCode == http.StatusOK && strings.Contains(r.Body, "connected") && !strings.Contains(r.Body, "Not connected") ||
			r.StatusCode == http.StatusFound && strings.Contains(r.Headers["Location"], "status=connected")
		if !connected && writes != 0 {
			t.Fatalf("%d answer stored %d items: %s %s", r.StatusCode, writes, r.Headers["Location"], r.Body)
		}
		if connected && (writes != 1 || state == "" || !strings.Contains(query, url.QueryEscape(state))) {
			t.Fatalf("connected with %d writes, state %q in %q", writes, state, query)
		}
	})
}
