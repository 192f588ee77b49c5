package gotoauth

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/connid"
)

var linkKey = []byte("a-link-signing-key-of-some-length")

func TestSignAndVerifyLink(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := Link{ConnectionID: "cust-42:acct_1.x", ReturnTo: "https://app.example.com/done?x=1&y=a b", Expires: now.Add(10 * time.Minute)}
	raw, err := SignLink("https://api.example.com/authorize", linkKey, l)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	got, err := VerifyLink(u.Query(), linkKey, now)
	if err != nil {
		t.Fatalf("VerifyLink: %v", err)
	}
	if got.ConnectionID != l.ConnectionID || got.ReturnTo != l.ReturnTo || !got.Expires.Equal(l.Expires) {
		t.Fatalf("got %+v, want %+v", got, l)
	}
}

// The documented algorithm, written out by hand as a SaaS backend in another
// language would: HMAC-SHA256 over the url.Values.Encode form.
func TestLinkSignatureMatchesDocumentedAlgorithm(t *testing.T) {
	l := Link{ConnectionID: "c1", ReturnTo: "https://app.example.com/x?a=1", Expires: time.Unix(1700000000, 0)}
	canonical := "connection_id=c1&expires=1700000000&return_to=https%3A%2F%2Fapp.example.com%2Fx%3Fa%3D1"
	if got := l.Canonical(); got != canonical {
		t.Fatalf("canonical = %q, want %q", got, canonical)
	}
	// Known answer, computed independently with Python: base64url(hmac.new(b"key", canonical, sha256)) without "=".
	if got, want := l.Signature([]byte("key")), "7arO76dwxg_phkSWqbauOruNLzI8fV4woilQYpfwDhU"; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
	noReturn := Link{ConnectionID: "c1", Expires: time.Unix(1700000000, 0)}
	if got := noReturn.Canonical(); got != "connection_id=c1&expires=1700000000" {
		t.Fatalf("canonical without return_to = %q", got)
	}
}

func TestVerifyLinkRefusals(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := func() url.Values {
		l := Link{ConnectionID: "c1", ReturnTo: "https://app.example.com/", Expires: now.Add(time.Minute)}
		return url.Values{
			"connection_id": {l.ConnectionID},
			"return_to":     {l.ReturnTo},
			"expires":       {strconv.FormatInt(l.Expires.Unix(), 10)},
			"signature":     {l.Signature(linkKey)},
		}
	}
	cases := []struct {
		name   string
		mutate func(url.Values)
		want   error
	}{
		{"missing signature", func(v url.Values) { v.Del("signature") }, ErrLinkMalformed},
		{"signature not base64", func(v url.Values) { v.Set("signature", "!!!") }, ErrLinkMalformed},
		{"tampered connection id", func(v url.Values) { v.Set("connection_id", "c2") }, ErrLinkSignature},
		{"tampered return_to", func(v url.Values) { v.Set("return_to", "https://evil.example.com/") }, ErrLinkSignature},
		{"dropped return_to", func(v url.Values) { v.Del("return_to") }, ErrLinkSignature},
		{"extended expiry", func(v url.Values) { v.Set("expires", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)) }, ErrLinkSignature},
		{"bad connection id", func(v url.Values) { v.Set("connection_id", "a b") }, ErrLinkMalformed},
		{"long connection id", func(v url.Values) { v.Set("connection_id", strings.Repeat("a", 129)) }, ErrLinkMalformed},
		{"missing connection id", func(v url.Values) { v.Del("connection_id") }, ErrLinkMalformed},
		{"two connection ids", func(v url.Values) { v.Add("connection_id", "c1") }, ErrLinkMalformed},
		{"expires not a number", func(v url.Values) { v.Set("expires", "soon") }, ErrLinkMalformed},
		{"missing expires", func(v url.Values) { v.Del("expires") }, ErrLinkMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := good()
			c.mutate(q)
			_, err := VerifyLink(q, linkKey, now)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), q.Get("signature")) && q.Get("signature") != "" {
				t.Fatalf("error quotes the signature: %v", err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		if _, err := VerifyLink(good(), linkKey, now.Add(time.Minute)); !errors.Is(err, ErrLinkExpired) {
			t.Fatalf("err = %v, want ErrLinkExpired", err)
		}
	})
	t.Run("other key", func(t *testing.T) {
		if _, err := VerifyLink(good(), []byte("another key"), now); !errors.Is(err, ErrLinkSignature) {
			t.Fatalf("err = %v, want ErrLinkSignature", err)
		}
	})
	t.Run("unsigned extra parameters are ignored", func(t *testing.T) {
		q := good()
		q.Set("utm_source", "mail")
		if _, err := VerifyLink(q, linkKey, now); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidConnectionID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "A-Z_0.9:x": true, strings.Repeat("x", 128): true,
		"": false, strings.Repeat("x", 129): false, "a/b": false, "a b": false, "é": false, "a%20": false,
	} {
		if got := connid.Valid(id); got != want {
			t.Errorf("connid.Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

// A signature has one spelling. base64url of 32 bytes leaves two unused
// bits in the last character, so a lenient decoder accepts four last
// characters for one signature; line breaks and padding are skipped or
// tolerated by some decoders too. Exactly one spelling verifies.
func TestLinkSignatureHasOneSpelling(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := Link{ConnectionID: "c1", Expires: now.Add(time.Minute)}
	sig := l.Signature(linkKey)
	query := func(sig string) url.Values {
		return url.Values{"connection_id": {l.ConnectionID}, "expires": {strconv.FormatInt(l.Expires.Unix(), 10)}, "signature": {sig}}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	verified := 0
	for _, last := range alphabet {
		s := sig[:len(sig)-1] + string(last)
		if _, err := VerifyLink(query(s), linkKey, now); err == nil {
			verified++
			if s != sig {
				t.Errorf("the signature spelled with last character %q verifies too", last)
			}
		}
	}
	if verified != 1 {
		t.Fatalf("%d spellings of the last character verify, want exactly 1", verified)
	}
	for name, s := range map[string]string{
		"padding":         sig + "=",
		"newline inside":  sig[:10] + "\n" + sig[10:],
		"CR at the end":   sig + "\r",
		"standard base64": strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+",
	} {
		if _, err := VerifyLink(query(s), linkKey, now); !errors.Is(err, ErrLinkMalformed) {
			t.Errorf("%s: err = %v, want ErrLinkMalformed", name, err)
		}
	}
}

// expires has one spelling: digits, no sign, no leading zero.
func TestLinkExpiresHasOneSpelling(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := Link{ConnectionID: "c1", Expires: now.Add(time.Minute)}
	exp := strconv.FormatInt(l.Expires.Unix(), 10)
	for _, spelled := range []string{"0" + exp, "00" + exp, "+" + exp, "-" + exp, " " + exp, exp + " ", exp + ".0", "0x" + exp, "0", "-1", "99999999999999999999"} {
		q := url.Values{"connection_id": {l.ConnectionID}, "expires": {spelled}, "signature": {l.Signature(linkKey)}}
		if _, err := VerifyLink(q, linkKey, now); !errors.Is(err, ErrLinkMalformed) {
			t.Errorf("expires=%q: err = %v, want ErrLinkMalformed", spelled, err)
		}
	}
	q := url.Values{"connection_id": {l.ConnectionID}, "expires": {exp}, "signature": {l.Signature(linkKey)}}
	if _, err := VerifyLink(q, linkKey, now); err != nil {
		t.Fatalf("the canonical spelling: %v", err)
	}
}
