package gotoauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// The fuzz targets of this package. Their seed corpora live in
// testdata/fuzz/<FuzzName>/ and run with every `go test`; `make fuzz` runs
// each target for FUZZTIME (60 s) to look for more.

var fuzzLinkKey = []byte("fuzz-link-signing-key-0123456789")

// fuzzNow is the fixed clock of the link fuzz target.
var fuzzNow = time.Unix(1_800_000_000, 0)

// FuzzVerifyLink feeds any query string to the connect-link verifier.
// Invariants: no panic; every error is one of the three documented kinds
// and quotes no signature; a link that verifies is unexpired, has a valid
// connection id, and its query holds exactly the one spelling of each
// signed parameter that SignLink writes (so no second spelling of a link
// verifies).
func FuzzVerifyLink(f *testing.F) {
	good, _ := gotoauth.SignLink("https://c.example.com/authorize", fuzzLinkKey,
		gotoauth.Link{ConnectionID: "cust-1", ReturnTo: "https://app.example.com/x?a=1", Expires: fuzzNow.Add(time.Minute)})
	u, _ := url.Parse(good)
	f.Add(u.RawQuery)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // the handler refuses these before verifying
		}
		l, err := gotoauth.VerifyLink(q, fuzzLinkKey, fuzzNow)
		if err != nil {
			if !errors.Is(err, gotoauth.ErrLinkMalformed) && !errors.Is(err, gotoauth.ErrLinkSignature) && !errors.Is(err, gotoauth.ErrLinkExpired) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			if sig := q.Get("signature"); len(sig) >= 8 && strings.Contains(err.Error(), sig) {
				t.Fatalf("the error quotes the signature: %v", err)
			}
			return
		}
		if !connid.Valid(l.ConnectionID) || !fuzzNow.Before(l.Expires) {
			t.Fatalf("verified a link with id %q expiring %v", l.ConnectionID, l.Expires)
		}
		if q.Get("signature") != l.Signature(fuzzLinkKey) || q.Get("expires") != strconv.FormatInt(l.Expires.Unix(), 10) ||
			q.Get("connection_id") != l.ConnectionID || q.Get("return_to") != l.ReturnTo {
			t.Fatalf("a second spelling verifies: %q", rawQuery)
		}
	})
}

// answerTransport answers every request with one fixed response, so that
// the fuzz target drives the token parser through Client.Exchange, the way
// callers reach it, without a network.
type answerTransport struct {
	status int
	ctype  string
	body   []byte
}

func (a answerTransport) RoundTrip(*http.Request) (*http.Response, error) {
	h := http.Header{}
	if a.ctype != "" {
		h.Set("Content-Type", a.ctype)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body))}, nil
}

// FuzzTokenResponse feeds any token endpoint answer (status, content type,
// body) to the client. Invariants: no panic; a token or an error, never
// both or neither; a token has an access token and an expiry that is zero
// or not in the past; an error has a secret-free code, a class, and quotes
// no token of the body.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"at-0123456789","refresh_token":"rt-0123456789","expires_in":3600}`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		if status < 100 || status > 999 {
			return // not an HTTP status line net/http would deliver
		}
		now := time.Unix(1_800_000_000, 0)
		c := &gotoauth.Client{
			ClientID: "id", ClientSecret: "secret", RedirectURL: "https://c.example.com/callback",
			Endpoint:   gotoauth.Endpoint{AuthURL: "https://goto.example.com/authorize", TokenURL: "https://goto.example.com/token"},
			HTTPClient: &http.Client{Transport: answerTransport{status, ctype, body}},
			Now:        func() time.Time { return now },
		}
		tok, err := c.Exchange(context.Background(), "code", "verifier")
		if (tok == nil) == (err == nil) {
			t.Fatalf("token %v and error %v", tok, err)
		}
		secrets := bodySecrets(body)
		if err != nil {
			code := gotoauth.ErrorCode(err)
			if oauth.SafeCode(code) != code {
				t.Fatalf("error code %q is not safe", code)
			}
			_ = gotoauth.Classify(err).String()
			if status == http.StatusTooManyRequests && code != "rate_limited" {
				t.Fatalf("429 gave %q", code)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) && !strings.Contains(ctype, s) {
					t.Fatalf("the error quotes a token of the body: %v", err)
				}
			}
			return
		}
		if tok.AccessToken == "" {
			t.Fatal("a token without an access token")
		}
		if status != http.StatusOK {
			t.Fatalf("a token from a %d answer", status)
		}
		if tok.Expiry.IsZero() || tok.Expiry.Before(now) {
			t.Fatalf("expires_in %v gave the expiry %v from now", tok.Raw["expires_in"], tok.Expiry.Sub(now))
		}
		for _, s := range secrets {
			if strings.Contains(tok.String(), s) && s != tok.Account() && !strings.Contains(tok.Account(), s) {
				t.Fatalf("Token.String quotes a token: %s", tok)
			}
		}
	})
}

// bodySecrets returns the access and refresh token values of a JSON body
// that look like secrets (12 or more characters with a letter and a digit,
// no space), which no error or String may quote.
func bodySecrets(body []byte) []string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"access_token", "refresh_token"} {
		s, _ := m[k].(string)
		if len(s) >= 12 && strings.IndexFunc(s, unicode.IsLetter) >= 0 && strings.IndexFunc(s, unicode.IsDigit) >= 0 && !strings.ContainsRune(s, ' ') {
			out = append(out, s)
		}
	}
	return out
}
