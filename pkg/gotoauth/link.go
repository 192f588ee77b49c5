package gotoauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/connid"
)

// A connect link sends a SaaS customer's browser to the connector's
// GET /authorize with these query parameters:
//
//	connection_id  the SaaS's own id for the connection
//	return_to      where the browser goes when the flow ends (optional)
//	expires        Unix seconds after which the link is refused
//	signature      base64url, no padding, of HMAC-SHA256(key, canonical)
//
// canonical is connection_id, expires and (when not empty) return_to
// encoded as url.Values.Encode does: keys sorted, values query-escaped,
// joined with '&'. Other query parameters are neither signed nor used.
type Link struct {
	ConnectionID string
	ReturnTo     string
	Expires      time.Time
}

// Canonical returns the string the link's signature covers (what
// cmd/connect-link -verbose prints, so that a signer in another language
// can be checked against it).
func (l Link) Canonical() string {
	v := url.Values{
		"connection_id": {l.ConnectionID},
		"expires":       {strconv.FormatInt(l.Expires.Unix(), 10)},
	}
	if l.ReturnTo != "" {
		v.Set("return_to", l.ReturnTo)
	}
	return v.Encode()
}

// Signature returns the link's signature under key: base64url, without
// padding, of HMAC-SHA256(key, l.Canonical()).
func (l Link) Signature(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(l.Canonical()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// SignLink returns the connect link for l: authorizeURL (the connector's
// public GET /authorize URL) with the signed query. It refuses a malformed
// connection id and an empty key.
func SignLink(authorizeURL string, key []byte, l Link) (string, error) {
	if len(key) == 0 {
		return "", errors.New("gotoauth: empty link signing key")
	}
	if !connid.Valid(l.ConnectionID) {
		return "", fmt.Errorf("%w: connection_id must be 1 to %d characters from A-Z a-z 0-9 . _ : -", ErrLinkMalformed, connid.MaxLength)
	}
	u, err := url.Parse(authorizeURL)
	if err != nil || !u.IsAbs() {
		return "", fmt.Errorf("gotoauth: authorize URL %q is not an absolute URL", authorizeURL)
	}
	q := u.Query()
	q.Set("connection_id", l.ConnectionID)
	q.Set("expires", strconv.FormatInt(l.Expires.Unix(), 10))
	if l.ReturnTo != "" {
		q.Set("return_to", l.ReturnTo)
	}
	q.Set("signature", l.Signature(key))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// VerifyLink checks a connect link's query at time now and returns what it
// carries. The error wraps ErrLinkMalformed, ErrLinkSignature or
// ErrLinkExpired, and says which parameter is wrong; it never contains the
// signature or the key.
func VerifyLink(query url.Values, key []byte, now time.Time) (Link, error) {
	single := func(name string, required bool) (string, error) {
		vals := query[name]
		switch {
		case len(vals) > 1:
			return "", fmt.Errorf("%w: %s is given more than once", ErrLinkMalformed, name)
		case len(vals) == 0 || vals[0] == "":
			if required {
				return "", fmt.Errorf("%w: %s is missing", ErrLinkMalformed, name)
			}
			return "", nil
		}
		return vals[0], nil
	}
	var l Link
	id, err := single("connection_id", true)
	if err != nil {
		return l, err
	}
	if !connid.Valid(id) {
		return l, fmt.Errorf("%w: connection_id must be 1 to %d characters from A-Z a-z 0-9 . _ : -", ErrLinkMalformed, connid.MaxLength)
	}
	returnTo, err := single("return_to", false)
	if err != nil {
		return l, err
	}
	exp, err := single("expires", true)
	if err != nil {
		return l, err
	}
	secs, err := parseExpires(exp)
	if err != nil {
		return l, err
	}
	sig, err := single("signature", true)
	if err != nil {
		return l, err
	}
	got, err := decodeSignature(sig)
	if err != nil {
		return l, err
	}
	l = Link{ConnectionID: id, ReturnTo: returnTo, Expires: time.Unix(secs, 0)}
	if len(key) == 0 {
		return Link{}, ErrLinkSignature
	}
	want, _ := base64.RawURLEncoding.DecodeString(l.Signature(key))
	if !hmac.Equal(got, want) {
		return Link{}, ErrLinkSignature
	}
	if !now.Before(l.Expires) {
		return Link{}, ErrLinkExpired
	}
	return l, nil
}

// parseExpires reads expires in its one spelling: decimal digits, no sign,
// no leading zero. Every accepted value names one link, so a link cannot
// be respelled into another that verifies.
func parseExpires(s string) (int64, error) {
	bad := fmt.Errorf("%w: expires must be Unix seconds (digits, no sign, no leading zero)", ErrLinkMalformed)
	if s == "" || s[0] == '0' || len(s) > 19 {
		return 0, bad
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 {
		return 0, bad
	}
	return secs, nil
}

// decodeSignature decodes a signature in its one spelling: base64url
// without padding, the unused low bits of the last character zero, no
// line breaks (which decoders skip), 32 bytes. So the last character of a
// signature cannot be swapped for another that decodes to the same bytes.
func decodeSignature(s string) ([]byte, error) {
	got, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(got) != sha256.Size || base64.RawURLEncoding.EncodeToString(got) != s {
		return nil, fmt.Errorf("%w: signature is not base64url HMAC-SHA256", ErrLinkMalformed)
	}
	return got, nil
}
