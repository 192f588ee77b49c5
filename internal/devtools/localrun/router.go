package localrun

import (
	"io"
	"net/http"
	"strings"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
)

// router answers the way API Gateway's HTTP API does, so that what works
// locally works deployed:
//
//   - A route matches only its exact method and path: HEAD does not match a
//     GET route, and no path is cleaned or redirected. Anything else gets
//     API Gateway's 404 {"message":"Not Found"}.
//   - A request for another host is refused, as API Gateway serves only its
//     own domain names: pages on this machine are not served to whatever
//     site a browser resolved to 127.0.0.1 (DNS rebinding).
//   - Every answer carries the connect flow's security headers
//     (Cache-Control: no-store, Referrer-Policy: no-referrer, ...), those of
//     the router's own refusals and of the demo pages included.
type router struct {
	host   string                  // the base URL's host[:port]
	base   string                  // the base URL, for messages
	routes map[string]http.Handler // "GET /authorize"
}

func newRouter(baseURL string, routes map[string]http.Handler) *router {
	host := strings.TrimPrefix(strings.TrimPrefix(baseURL, "http://"), "https://")
	return &router{host: host, base: baseURL, routes: routes}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range connect.SecurityHeaders() {
		w.Header().Set(k, v)
	}
	if !strings.EqualFold(r.Host, rt.host) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		io.WriteString(w, "This local connector answers at "+rt.base+" only.\n")
		return
	}
	h := rt.routes[r.Method+" "+r.URL.Path]
	if h == nil {
		h = rt.match(r)
	}
	if h == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		return
	}
	h.ServeHTTP(w, r)
}

// match finds the route whose key has {name} segments matching r's path
// segment by segment, as API Gateway matches them (one non-empty segment
// each), and sets the request's path values for them.
func (rt *router) match(r *http.Request) http.Handler {
	got := strings.Split(r.URL.Path, "/")
	for key, h := range rt.routes {
		method, path, _ := strings.Cut(key, " ")
		if method != r.Method || !strings.Contains(path, "{") {
			continue
		}
		want := strings.Split(path, "/")
		if len(want) != len(got) {
			continue
		}
		values := map[string]string{}
		ok := true
		for i, w := range want {
			switch {
			case strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") && got[i] != "":
				values[w[1:len(w)-1]] = got[i]
			case w != got[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			for k, v := range values {
				r.SetPathValue(k, v)
			}
			return h
		}
	}
	return nil
}
