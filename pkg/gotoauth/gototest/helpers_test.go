package gototest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

const testRedirect = "https://app.example/callback"

// noFollow is a client that returns redirects instead of following them.
var noFollow = &http.Client{
	Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func start(t *testing.T, opts ...gototest.Option) *gototest.Server {
	t.Helper()
	s := gototest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// authURL builds an authorization URL for s; extra overrides the defaults
// and a nil value removes a parameter.
func authURL(s *gototest.Server, extra url.Values) string {
	q := url.Values{
		"client_id":     {s.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {testRedirect},
		"state":         {"st-123"},
	}
	for k, v := range extra {
		if v == nil {
			delete(q, k)
		} else {
			q[k] = v
		}
	}
	return s.AuthorizeURL() + "?" + q.Encode()
}

// rawBasic builds the Basic header as GoTo documents it.
func rawBasic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// formBasic builds the Basic header as RFC 6749 §2.3.1 (and
// golang.org/x/oauth2) does: form-encoded values.
func formBasic(id, secret string) string {
	return rawBasic(url.QueryEscape(id), url.QueryEscape(secret))
}

type tokenResp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r tokenResp) str(k string) string {
	s, _ := r.json[k].(string)
	return s
}

func postTokenTo(t *testing.T, endpoint, auth string, form url.Values) tokenResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading token response: %v", err)
	}
	r := tokenResp{status: res.StatusCode, header: res.Header, body: body}
	_ = json.Unmarshal(body, &r.json)
	return r
}

func postToken(t *testing.T, s *gototest.Server, auth string, form url.Values) tokenResp {
	t.Helper()
	return postTokenTo(t, s.TokenURL(), auth, form)
}

// approveCode consents programmatically and returns the code.
func approveCode(t *testing.T, s *gototest.Server, extra url.Values) string {
	t.Helper()
	u, err := s.Approve(authURL(s, extra))
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	code := u.Query().Get("code")
	if code == "" {
		t.Fatalf("Approve redirected to %s without a code", u.Redacted())
	}
	return code
}

// exchange posts an authorization_code grant with the raw Basic header;
// extra overrides the form and a nil value removes a field.
func exchange(t *testing.T, s *gototest.Server, code string, extra url.Values) tokenResp {
	t.Helper()
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {testRedirect},
	}
	for k, v := range extra {
		if v == nil {
			delete(form, k)
		} else {
			form[k] = v
		}
	}
	return postToken(t, s, rawBasic(s.ClientID, s.ClientSecret), form)
}

func refresh(t *testing.T, s *gototest.Server, rt string) tokenResp {
	t.Helper()
	return postToken(t, s, rawBasic(s.ClientID, s.ClientSecret), url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
	})
}

// login runs consent and exchange and returns the successful response.
func login(t *testing.T, s *gototest.Server) tokenResp {
	t.Helper()
	r := exchange(t, s, approveCode(t, s, nil), nil)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	return r
}

func wantOAuthError(t *testing.T, r tokenResp, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d error=%s", r.status, r.body, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if r.str("error_description") == "" {
		t.Errorf("error_description is empty: %s", r.body)
	}
}

func pkcePair(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 43/len(seed)+1)[:43] + "-._~0123456789"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// fakeClock is a clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// consentPage fetches the consent page and returns its form action and
// hidden fields.
func consentPage(t *testing.T, authorizeURL string) (action string, fields url.Values) {
	t.Helper()
	res, err := noFollow.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET authorize: %d %s", res.StatusCode, body)
	}
	m := actionRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no form in consent page:\n%s", body)
	}
	fields = url.Values{}
	for _, h := range hiddenRE.FindAllSubmatch(body, -1) {
		fields.Add(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	return html.UnescapeString(string(m[1])), fields
}

// submitConsent posts the consent form like a browser (or curl) would and
// returns the response, unfollowed.
func submitConsent(t *testing.T, endpoint string, fields url.Values, decision string) *http.Response {
	t.Helper()
	form := url.Values{}
	for k, v := range fields {
		form[k] = v
	}
	if decision != "" {
		form.Set("decision", decision)
	}
	res, err := noFollow.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
