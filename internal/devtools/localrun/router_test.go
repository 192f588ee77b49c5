package localrun

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
)

// The local server answers as API Gateway does: exact method and path, no
// HEAD on GET routes, no redirects, its own 404 JSON; only its own host;
// the security headers on every answer.
func TestRouterAnswersLikeAPIGateway(t *testing.T) {
	const base = "http://localhost:8080"
	calls := map[string]int{}
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls[name]++
			w.WriteHeader(http.StatusFound)
		})
	}
	rt := newRouter(base, map[string]http.Handler{
		"GET /authorize": handler("authorize"),
		"GET /":          handler("index"),
	})
	serve := func(method, target, host string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Host = host
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		for k, v := range connect.SecurityHeaders() {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s %s (Host %s): %s = %q, want %q", method, target, host, k, got, v)
			}
		}
		return w
	}

	for _, c := range []struct{ method, target string }{
		{"HEAD", "/authorize?connection_id=a"},
		{"POST", "/authorize"},
		{"OPTIONS", "/authorize"},
		{"GET", "/authorize/"},
		{"GET", "//authorize"},
		{"GET", "/./authorize"},
		{"GET", "/AUTHORIZE"},
		{"GET", "/nothing-here"},
		{"HEAD", "/"},
	} {
		w := serve(c.method, c.target, "localhost:8080")
		if w.Code != http.StatusNotFound || w.Body.String() != `{"message":"Not Found"}` || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q, want API Gateway's 404", c.method, c.target, w.Code, w.Body)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("handlers ran: %v", calls)
	}

	for _, host := range []string{"evil.example.com", "evil.example.com:8080", "127.0.0.1:8080", "localhost:8081", ""} {
		w := serve("GET", "/authorize", host)
		if w.Code != http.StatusMisdirectedRequest || !strings.Contains(w.Body.String(), base) {
			t.Errorf("Host %q: %d %q", host, w.Code, w.Body)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("handlers ran for another host: %v", calls)
	}

	if w := serve("GET", "/authorize?x=1", "localhost:8080"); w.Code != http.StatusFound || calls["authorize"] != 1 {
		t.Fatalf("GET /authorize: %d, calls %v", w.Code, calls)
	}
	if w := serve("GET", "/", "LOCALHOST:8080"); w.Code != http.StatusFound || calls["index"] != 1 {
		t.Fatalf("GET /: %d, calls %v", w.Code, calls)
	}
}
