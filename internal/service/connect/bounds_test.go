package connect_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// A leaked link replayed 100 times stores at most MaxPendingPerLink
// pending authorizations; the rest are refused with 429, no cookie and
// nothing stored. A slot is free again once its authorization finished or
// expired.
func TestReplayedLinkIsBounded(t *testing.T) {
	e := newEnv(t, callbackHT)
	link := e.link("cust-1", returnTo)
	found, busy := 0, 0
	var first connect.Response
	for i := 0; i < 100; i++ {
		r := e.authorize(link)
		switch r.StatusCode {
		case http.StatusFound:
			if found == 0 {
				first = r
			}
			found++
		case http.StatusTooManyRequests:
			busy++
			if len(r.Cookies) != 0 || !strings.Contains(r.Body, "too many times") {
				t.Fatalf("429 with cookies %v: %s", r.Cookies, r.Body)
			}
		default:
			t.Fatalf("replay %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
	if found != connect.MaxPendingPerLink || busy != 100-connect.MaxPendingPerLink {
		t.Fatalf("%d redirects and %d refusals, want %d and %d", found, busy, connect.MaxPendingPerLink, 100-connect.MaxPendingPerLink)
	}
	if n := len(testutil.Items(t, e.db, e.table)); n != connect.MaxPendingPerLink {
		t.Fatalf("%d items stored after 100 replays, want %d", n, connect.MaxPendingPerLink)
	}

	// Another link (another connection id) has slots of its own.
	if r := e.authorize(e.link("cust-2", returnTo)); r.StatusCode != http.StatusFound {
		t.Fatalf("another link: %d %s", r.StatusCode, r.Body)
	}

	// Finishing one flow frees its slot: the link works once more, and
	// the table never holds more than MaxPendingPerLink of its items.
	c, _ := http.ParseSetCookie(first.Cookies[0])
	back, err := e.goto_.Approve(first.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}
	if r := e.callback(back.RawQuery, c.Name+"="+c.Value); r.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", r.StatusCode, r.Body)
	}
	if r := e.authorize(link); r.StatusCode != http.StatusFound {
		t.Fatalf("after one flow finished: %d", r.StatusCode)
	}
	if r := e.authorize(link); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the bound again: %d", r.StatusCode)
	}

	// Expired authorizations free their slots too, in place.
	e.clock.Advance(connect.PendingLifetime)
	for i := 0; i < connect.MaxPendingPerLink; i++ {
		if r := e.authorize(link); r.StatusCode != http.StatusFound {
			t.Fatalf("after expiry, %d: %d", i, r.StatusCode)
		}
	}
	// cust-1's connection, its link's slots and cust-2's one pending state.
	if n := len(testutil.Items(t, e.db, e.table)); n != 1+connect.MaxPendingPerLink+1 {
		t.Fatalf("%d items, want %d", n, 1+connect.MaxPendingPerLink+1)
	}
}

// The connector's own result parameters are the only ones of their names
// in the final redirect: a return_to that carries status, error or
// connection_id is refused at /authorize, and nothing is stored.
func TestAuthorizeRefusesReturnToWithConnectorParams(t *testing.T) {
	e := newEnv(t, callbackHT)
	for _, rt := range []string{
		"https://app.example.com/done?error=spoof",
		"https://app.example.com/done?status=connected",
		"https://app.example.com/done?connection_id=someone-else",
		"https://app.example.com/done?a=1&error=",
		"https://app.example.com/done?x=1;status=connected",
		"https://app.example.com/done?St%61tus=connected",
	} {
		r := e.authorize(e.link("cust-1", rt))
		if r.StatusCode != http.StatusBadRequest || len(r.Cookies) != 0 || !strings.Contains(r.Body, "must not carry its own") {
			t.Errorf("return_to %s: %d %s", rt, r.StatusCode, r.Body)
		}
		e.nothingStored()
	}
	// Other parameters stay, and the connector's are set once.
	consent, cookie := e.start("cust-1", "https://app.example.com/done?errors=1&state=x")
	back, _ := e.goto_.Deny(consent)
	r := e.callback(back.RawQuery, cookie)
	loc, _ := url.Parse(r.Headers["Location"])
	q := loc.Query()
	if len(q["status"]) != 1 || len(q["error"]) != 1 || q.Get("errors") != "1" || q.Get("state") != "x" || q.Get("error") != "access_denied" {
		t.Fatalf("redirect %s", loc)
	}
}

// A state given twice is reported as such, as /authorize reports its own
// duplicated parameters, and nothing is looked up or stored.
func TestCallbackDuplicatedState(t *testing.T) {
	e := newEnv(t, callbackHT)
	consent, cookie := e.start("cust-1", returnTo)
	back, _ := e.goto_.Approve(consent)
	r := e.callback(back.RawQuery+"&state=other", cookie)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "given more than once") {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	if e.goto_.TokenRequests() != 0 || e.connection("cust-1") != nil {
		t.Fatal("something was exchanged or stored")
	}
	// The flow is untouched: the real callback still works.
	if r := e.callback(back.RawQuery, cookie); r.StatusCode != http.StatusFound {
		t.Fatalf("the real callback: %d %s", r.StatusCode, r.Body)
	}
}

// The SaaS's own return_to query reaches it as it was written, whatever
// its spelling; the connector's parameters are appended.
func TestReturnToQueryIsKeptAsWritten(t *testing.T) {
	e := newEnv(t, callbackHT)
	rt := "https://app.example.com/done?b=2&a=x%20y;c=3&empty"
	consent, cookie := e.start("cust-1", rt)
	back, _ := e.goto_.Deny(consent)
	r := e.callback(back.RawQuery, cookie)
	want := rt + "&connection_id=cust-1&error=access_denied&status=error"
	if r.Headers["Location"] != want {
		t.Fatalf("redirect %s\nwant     %s", r.Headers["Location"], want)
	}
}
