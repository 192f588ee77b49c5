package browsertest

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gotoconnector/gotoconnector/internal/devtools/localrun"
	connectflow "github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// TestConnectInBrowser connects a GoTo account the way a customer does, in
// headless Chromium: the connect link, GoTo's consent page on another site
// (gototest on 127.0.0.1, the connector on localhost), Allow or Deny, and the
// redirect back through the callback to the return_to page. The callback
// only goes on with the binding cookie /authorize set, so landing on the
// return_to page proves the browser sent that cookie on the cross-site
// redirect from GoTo, as real browsers apply SameSite.
func TestConnectInBrowser(t *testing.T) {
	requireChromium(t)
	ctx := budget(t)
	stack := startStack(t, ctx)
	browser := startBrowser(t, ctx)
	store := stack.Store
	account := gototest.DefaultIdentity().Email

	t.Run("allow", func(t *testing.T) {
		const id = "browser-allow"
		f := connect(t, stack, browser, id, "allow")
		f.requireReturn(t, stack, url.Values{"connection_id": {id}, "status": {"connected"}})
		if want := "GoTo account connected"; f.page.Title != want {
			t.Errorf("result page title %q, want %q (message %q)", f.page.Title, want, f.page.Message)
		}
		if f.page.Account != account {
			t.Errorf("result page shows account %q, want %q", f.page.Account, account)
		}
		if f.page.Status != string(gotoauth.StatusActive) {
			t.Errorf("result page shows status %q, want %q", f.page.Status, gotoauth.StatusActive)
		}
		if !strings.Contains(f.page.Message, account) {
			t.Errorf("result page message %q does not name %s", f.page.Message, account)
		}

		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		c, err := store.Connection(sctx, id)
		if err != nil {
			t.Fatalf("connection %q in DynamoDB: %v", id, err)
		}
		if c.ConnectionID != id || c.Account() != account || c.Status != gotoauth.StatusActive ||
			c.AccessToken == "" || c.RefreshToken == "" {
			t.Errorf("stored connection: id %q, account %q, status %q, access token set %t, refresh token set %t; want %q, %q, %q, tokens set",
				c.ConnectionID, c.Account(), c.Status, c.AccessToken != "", c.RefreshToken != "", id, account, gotoauth.StatusActive)
		}
	})

	t.Run("deny", func(t *testing.T) {
		const id = "browser-deny"
		f := connect(t, stack, browser, id, "deny")
		f.requireReturn(t, stack, url.Values{"connection_id": {id}, "status": {"error"}, "error": {"access_denied"}})
		if want := "GoTo account not connected"; f.page.Title != want {
			t.Errorf("result page title %q, want %q (message %q)", f.page.Title, want, f.page.Message)
		}
		if !strings.Contains(f.page.Message, "error=access_denied") {
			t.Errorf("result page message %q, want it to report error=access_denied", f.page.Message)
		}
		if f.page.Account != "" {
			t.Errorf("result page shows account %q after Deny", f.page.Account)
		}

		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		if c, err := store.Connection(sctx, id); !errors.Is(err, gotoauth.ErrNotFound) {
			t.Errorf("after Deny, connection %q in DynamoDB: %+v, %v; want %v", id, c, err, gotoauth.ErrNotFound)
		}
	})
}

// startStack starts what `make run` starts, on free ports, with gototest as
// GoTo and no refresh sweep, and closes it on cleanup.
func startStack(t *testing.T, ctx context.Context) *localrun.Stack {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stackTimeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	stack, err := localrun.Start(sctx, localrun.Options{Port: "0", SweepEvery: -1, Logger: logger})
	if err != nil {
		t.Fatalf("starting the local stack: %v", err)
	}
	t.Cleanup(stack.Close)
	if stack.GoTo == nil {
		t.Fatal("the local stack talks to the real GoTo; want gototest")
	}
	base, err1 := url.Parse(stack.BaseURL)
	provider, err2 := url.Parse(stack.GoTo.URL)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	// Different host names are different sites: the redirect from GoTo back
	// to the callback is cross-site, as it is in production.
	if base.Hostname() == provider.Hostname() {
		t.Fatalf("connector %s and GoTo %s are on one site; the test needs a cross-site redirect", stack.BaseURL, stack.GoTo.URL)
	}
	t.Logf("connector %s, GoTo (gototest) %s", stack.BaseURL, stack.GoTo.URL)
	return stack
}

// resultPage is what a page shows, read by readPage.
type resultPage struct {
	URL     string `json:"url"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Account string `json:"account"`
	Status  string `json:"status"`
	User    string `json:"user"`
}

const readPage = `(() => {
	const text = id => (document.getElementById(id)?.textContent ?? "").trim();
	return {url: location.href, title: text("title"), message: text("message"),
		account: text("account"), status: text("status"), user: text("user")};
})()`

// flow is the outcome of one connect flow in the browser.
type flow struct {
	page resultPage
	// back are the binding cookies the browser considered on the redirect
	// chain from GoTo's consent form back to the connector.
	back []cookieUse
	// left are the binding cookies the browser still holds afterwards.
	left []*network.Cookie
}

// connect opens a connect link for id in a new tab with its own cookie jar,
// checks GoTo's consent page and the binding cookie, clicks decision
// ("allow" or "deny") and returns the page the browser lands on, after
// saving a screenshot of it.
func connect(t *testing.T, stack *localrun.Stack, browser context.Context, id, decision string) flow {
	t.Helper()
	tab, cookies := newTab(t, browser)
	link, err := stack.Link(id, 5*time.Minute)
	if err != nil {
		t.Fatalf("minting a connect link: %v", err)
	}

	// The link: /authorize sets the binding cookie and redirects to GoTo.
	do(t, tab, "opening the connect link and waiting for GoTo's consent page",
		chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID(decision)))
	consent := run(t, tab, "reading the consent page", chromedp.Evaluate[resultPage](readPage))
	if !strings.HasPrefix(consent.URL, stack.GoTo.URL+gototest.AuthorizePath) {
		t.Fatalf("the connect link led to %s; want GoTo's consent page %s", consent.URL, stack.GoTo.URL+gototest.AuthorizePath)
	}
	if !strings.Contains(consent.User, gototest.DefaultIdentity().Email) {
		t.Errorf("consent page signed in as %q; want %s", consent.User, gototest.DefaultIdentity().Email)
	}
	checkBindingCookie(t, tab, stack)

	// The decision: GoTo redirects to the callback on the connector's site,
	// which redirects to return_to (or shows a page of its own).
	cookies.take()
	run(t, tab, "clicking "+decision+" and waiting for the browser to leave GoTo",
		chromedp.WaitEvent(page.FrameNavigated, func(e page.EventFrameNavigated) bool {
			return e.Frame != nil && e.Frame.ParentID == "" && !strings.HasPrefix(e.Frame.URL, stack.GoTo.URL)
		}, chromedp.Click(chromedp.ID(decision))))
	do(t, tab, "waiting for the result page", chromedp.WaitVisible(chromedp.ID("title")))
	f := flow{page: run(t, tab, "reading the result page", chromedp.Evaluate[resultPage](readPage))}
	screenshot(t, tab, "browsertest-"+decision)
	f.back = cookies.take()
	t.Logf("landed on %s: %q", f.page.URL, f.page.Title)
	t.Logf("binding cookie on the way back from GoTo: %v", f.back)
	f.left = bindingCookies(t, tab, stack.BaseURL+"/callback")
	return f
}

// checkBindingCookie checks the cookie /authorize set, as the browser
// stored it: one per flow, for the connector's host and callback path only,
// HttpOnly, SameSite=Lax, not Secure on http://localhost, and living as long
// as the pending state.
func checkBindingCookie(t *testing.T, tab context.Context, stack *localrun.Stack) {
	t.Helper()
	cs := bindingCookies(t, tab, stack.BaseURL+"/callback")
	if len(cs) != 1 {
		t.Fatalf("the browser holds %d binding cookies for %s/callback after /authorize; want 1", len(cs), stack.BaseURL)
	}
	c := cs[0]
	t.Logf("binding cookie %s: domain %s, path %s, HttpOnly %t, SameSite %s, Secure %t, expires in %v",
		c.Name, c.Domain, c.Path, c.HTTPOnly, c.SameSite, c.Secure, time.Until(time.Unix(int64(c.Expires), 0)).Round(time.Second))
	if c.Domain != "localhost" || c.Path != "/callback" {
		t.Errorf("binding cookie scoped to domain %q path %q; want localhost /callback", c.Domain, c.Path)
	}
	if !c.HTTPOnly {
		t.Error("binding cookie is not HttpOnly")
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("binding cookie SameSite %q; want %q", c.SameSite, network.CookieSameSiteLax)
	}
	if c.Secure {
		t.Error("binding cookie is Secure on http://localhost; the browser would never send it back")
	}
	if expires := time.Unix(int64(c.Expires), 0); c.Session || time.Until(expires) <= 0 ||
		time.Until(expires) > connectflow.PendingLifetime+time.Minute {
		t.Errorf("binding cookie expires at %v (session %t); want within %v", expires, c.Session, connectflow.PendingLifetime)
	}
	if cs := bindingCookies(t, tab, stack.BaseURL+"/"); len(cs) != 0 {
		t.Errorf("binding cookie is sent to %s/ too; want the callback path only", stack.BaseURL)
	}
	if cs := bindingCookies(t, tab, stack.GoTo.URL+gototest.AuthorizePath); len(cs) != 0 {
		t.Errorf("binding cookie is sent to GoTo (%s)", stack.GoTo.URL)
	}
}

// requireReturn checks that the flow ended on the return_to page with the
// query want, the binding cookie having ridden along the redirect from GoTo
// and been cleared since.
func (f flow) requireReturn(t *testing.T, stack *localrun.Stack, want url.Values) {
	t.Helper()
	u, err := url.Parse(f.page.URL)
	if err != nil || u.Scheme+"://"+u.Host != stack.BaseURL || u.Path != "/app/return" {
		t.Fatalf("landed on %s (%q: %q); want the return_to page %s/app/return?%s\nbinding cookie on the way back: %v",
			f.page.URL, f.page.Title, f.page.Message, stack.BaseURL, want.Encode(), f.back)
	}
	got := u.Query()
	for k := range want {
		if got.Get(k) != want.Get(k) {
			t.Errorf("return_to query %s=%q; want %q (URL %s)", k, got.Get(k), want.Get(k), f.page.URL)
		}
	}
	if got.Get("error") != want.Get("error") {
		t.Errorf("return_to query error=%q; want %q", got.Get("error"), want.Get("error"))
	}
	host := u.Host
	sent := false
	for _, c := range f.back {
		sent = sent || c.Host == host && len(c.Blocked) == 0
	}
	if !sent {
		t.Errorf("the browser sent no binding cookie to %s on the way back from GoTo: %v", host, f.back)
	}
	if len(f.left) != 0 {
		t.Errorf("the binding cookie is still set after the flow: %s", f.left[0].Name)
	}
}
