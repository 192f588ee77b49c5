package bench_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// meter is a pass-through HTTP proxy that records every request it
// forwards: its operation (DynamoDB's and Secrets Manager's X-Amz-Target,
// else the URL path) and when it arrived and was answered. Put in front of
// DynamoDB Local, the fake Secrets Manager and gototest, it shows how often
// and how long a bootstrap waited on each, measured at the endpoint.
type meter struct {
	URL string

	mu    sync.Mutex
	calls []call
}

// call is one forwarded request.
type call struct {
	op         string
	start, end time.Time
}

func newMeter(tb testing.TB, target string) *meter {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	m := &meter{URL: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := call{op: operation(r), start: time.Now()}
		proxy.ServeHTTP(w, r)
		c.end = time.Now()
		m.mu.Lock()
		m.calls = append(m.calls, c)
		m.mu.Unlock()
	})}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return m
}

func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndexByte(t, '.')+1:]
	}
	return r.URL.Path
}

// usage is what a meter saw in a time window.
type usage struct {
	calls int
	busy  time.Duration // time with at least one request in flight
	ops   []string      // operations in order of arrival
	count map[string]int
}

// between returns the calls that arrived in [from, to].
func (m *meter) between(from, to time.Time) usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := usage{count: map[string]int{}}
	var last time.Time
	for _, c := range m.calls {
		if c.start.Before(from) || c.start.After(to) {
			continue
		}
		u.calls++
		u.ops = append(u.ops, c.op)
		u.count[c.op]++
		// Union of the intervals (calls arrive in order of answer, and a
		// sequential bootstrap has one in flight at a time).
		start := c.start
		if start.Before(last) {
			start = last
		}
		if c.end.After(start) {
			u.busy += c.end.Sub(start)
			last = c.end
		}
	}
	return u
}

// all returns everything the meter saw.
func (m *meter) all() usage { return m.between(time.Time{}, time.Now().Add(time.Hour)) }
