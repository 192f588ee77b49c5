package connect

import (
	"html"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
)

// Request and Response are the API Gateway HTTP API (payload 2.0) events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// SecurityHeaders returns the headers of every answer of the connect flow
// (the local server puts them on its own answers too): nothing here may be
// cached, leak the URL (with its code or signature) to another site, or be
// framed.
func SecurityHeaders() map[string]string {
	return map[string]string{
		"Cache-Control":           "no-store",
		"Pragma":                  "no-cache",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
	}
}

// redirect answers 302 to location.
func redirect(location string, cookies ...string) Response {
	h := SecurityHeaders()
	h["Location"] = location
	return Response{StatusCode: http.StatusFound, Headers: h, Cookies: cookies}
}

// page answers status with a small HTML page. Title and message are
// escaped. (Not html/template: its reflection keeps every method of every
// AWS client in the bootstrap, about 4 MB.)
func page(status int, title, message string, cookies ...string) Response {
	t, m := html.EscapeString(title), html.EscapeString(message)
	body := pageHead + t + pageMiddle + t + pageBetween + m + pageTail
	h := SecurityHeaders()
	h["Content-Type"] = "text/html; charset=utf-8"
	return Response{StatusCode: status, Headers: h, Body: body, Cookies: cookies}
}

// The page around its title and message.
const (
	pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>`
	pageMiddle = `</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.5}h1{font-size:1.4rem}</style>
</head><body><h1 id="title">`
	pageBetween = `</h1><p id="message">`
	pageTail    = "</p></body></html>\n"
)

// withQuery returns rawURL with params appended to its query. The query
// already there is kept byte for byte: /authorize refused a return_to that
// carries any of params' names.
func withQuery(rawURL string, params url.Values) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += params.Encode()
	u.ForceQuery = false
	return u.String()
}
