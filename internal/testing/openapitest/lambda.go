package openapitest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Lambda checks a payload 2.0 request and the function's answer against the
// document. routeKey ("GET /authorize") names the route when the event does
// not (handler tests often send only the query); the event's own rawPath,
// method and path parameters win when it has them.
func Lambda(t testing.TB, routeKey string, req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	hreq, problem := httpRequest(routeKey, req)
	if problem != "" {
		// A path no client could send: API Gateway would not route it.
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("api/openapi.yaml: %s: %s, yet it was answered %d", routeKey, problem, resp.StatusCode)
		}
		return
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	for _, ck := range resp.Cookies {
		header.Add("Set-Cookie", ck)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Errorf("api/openapi.yaml: %s: the base64 body does not decode: %v", routeKey, err)
			return
		}
	}
	if msg := c.check(hreq, resp.StatusCode, header, body); msg != "" {
		t.Error(msg)
	}
}

// httpRequest is the HTTP request API Gateway turned into req.
func httpRequest(routeKey string, req events.APIGatewayV2HTTPRequest) (*http.Request, string) {
	if req.RouteKey != "" {
		routeKey = req.RouteKey
	}
	method, path, _ := strings.Cut(routeKey, " ")
	if m := req.RequestContext.HTTP.Method; m != "" {
		method = m
	}
	raw := req.RawPath
	if raw == "" {
		raw = path
		for k, v := range req.PathParameters {
			raw = strings.ReplaceAll(raw, "{"+k+"}", url.PathEscape(v))
		}
	}
	u, err := url.Parse("https://connector.test" + raw)
	if err != nil || strings.Contains(raw, "?") {
		return nil, "the path " + raw + " is not a URL path"
	}
	u.RawQuery = req.RawQueryString
	hreq, err := http.NewRequest(method, u.String(), nil)
	if err != nil {
		return nil, err.Error()
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	if len(req.Cookies) > 0 {
		hreq.Header.Set("Cookie", strings.Join(req.Cookies, "; "))
	}
	return hreq, ""
}
