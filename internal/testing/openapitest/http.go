package openapitest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Transport returns a RoundTripper that sends through base
// (http.DefaultTransport when nil) and checks every exchange against the
// document, for tests that call a server over HTTP (the local stack).
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{t: t, base: base}
}

type roundTripper struct {
	t    testing.TB
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c, err := Load()
	if err != nil {
		rt.t.Error(err)
		return resp, nil
	}
	if msg := c.check(req, resp.StatusCode, resp.Header, body); msg != "" {
		rt.t.Error(msg)
	}
	return resp, nil
}
