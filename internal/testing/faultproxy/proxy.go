package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds, the keys of Faults.
const (
	FaultCut      = "cut"
	FaultHang     = "hang"
	FaultThrottle = "throttle"
	FaultDelay    = "delay"
	// FaultAnswerLost counts requests DynamoDB answered whose answer was
	// dropped (LoseAnswers): applied, but the client cannot know it.
	FaultAnswerLost = "answer_lost"
	// FaultAbandoned counts requests whose client gave up before they were
	// forwarded (while sending, held or delayed): they never reach DynamoDB.
	FaultAbandoned = "abandoned"
)

// ThrottlingBody is the body of the throttling answer, as DynamoDB sends it.
const ThrottlingBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",` +
	`"message":"Rate of requests exceeds the allowed throughput."}`

// mode is what the proxy does to a request its faults apply to.
type mode int

const (
	modePass mode = iota
	modeCut
	modeHang
	modeThrottle
)

// Proxy is a running fault-injection proxy. Create one with Start; its
// methods are safe for concurrent use.
type Proxy struct {
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	client *http.Client

	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	handlers  sync.WaitGroup

	mu        sync.Mutex
	mode      mode
	delay     time.Duration
	lose      int             // answers still to drop (LoseAnswers)
	only      map[string]bool // nil: every operation
	onRequest func(op string)
	changed   chan struct{} // closed and replaced on every change of the faults
	counts    map[string]int
	faults    map[string]int
}

// Start starts a proxy on 127.0.0.1 (a random port) that forwards to
// targetURL, the base URL of DynamoDB Local ("http://127.0.0.1:8000"). It
// starts in pass-through mode. Call Close when done.
func Start(targetURL string) (*Proxy, error) {
	target, err := url.Parse(strings.TrimRight(targetURL, "/"))
	if err != nil || target.Scheme != "http" || target.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http:// URL", targetURL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening: %w", err)
	}
	p := &Proxy{
		target:  target,
		ln:      ln,
		closing: make(chan struct{}),
		changed: make(chan struct{}),
		counts:  make(map[string]int),
		faults:  make(map[string]int),
		client: &http.Client{
			Transport: &http.Transport{
				Proxy:               nil,
				DisableCompression:  true, // forward bodies byte for byte
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     30 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL returns the proxy's base URL ("http://127.0.0.1:port"): the endpoint
// to give the SDK (BaseEndpoint, AWS_ENDPOINT_URL_DYNAMODB).
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops accepting, resets every held or in-flight request and returns
// once all handlers have returned. It is idempotent.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closing)
		_ = p.srv.Close() // closes the listener and every connection not hijacked
		p.handlers.Wait()
		p.client.CloseIdleConnections()
	})
}

// Restore returns to pass-through: requests held by Hang are forwarded,
// and Cut and Throttle stop. The delay and the scope (Only) stay.
func (p *Proxy) Restore() { p.setMode(modePass) }

// Cut makes every request the faults apply to, new or in flight, fail at
// the connection level (a reset, no answer) until Restore.
func (p *Proxy) Cut() { p.setMode(modeCut) }

// Hang holds every request the faults apply to without an answer until
// Restore (or Cut, or Close), like a network partition.
func (p *Proxy) Hang() { p.setMode(modeHang) }

// Throttle answers every request the faults apply to with DynamoDB's
// ThrottlingException until Restore.
func (p *Proxy) Throttle() { p.setMode(modeThrottle) }

// Delay adds d of latency before every request the faults apply to is
// forwarded; zero removes it. It combines with the mode (a delayed request
// is then cut, held or throttled as the mode says when the delay ends).
func (p *Proxy) Delay(d time.Duration) {
	p.change(func() { p.delay = max(d, 0) })
}

// LoseAnswers makes the next n requests the faults apply to reach DynamoDB
// and be applied there, and then drops each answer (a connection reset
// instead of the answer), as a network fault or a client-side timeout
// after the write would: the client sees a failure of a write that
// happened. The SDK retries such a failure like any connection error. It
// combines with the delay; Restore does not end it (zero does).
func (p *Proxy) LoseAnswers(n int) {
	p.change(func() { p.lose = max(n, 0) })
}

// loseAnswer reports whether the answer of a request of op is to be
// dropped, and counts it.
func (p *Proxy) loseAnswer(op string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lose == 0 || p.only != nil && !p.only[op] {
		return false
	}
	p.lose--
	p.faults[FaultAnswerLost]++
	return true
}

// Only restricts the faults to the named operations ("UpdateItem",
// "GetItem", ...); without arguments, they apply to every operation.
func (p *Proxy) Only(ops ...string) {
	p.change(func() {
		if len(ops) == 0 {
			p.only = nil
			return
		}
		p.only = make(map[string]bool, len(ops))
		for _, op := range ops {
			p.only[op] = true
		}
	})
}

// OnRequest sets a hook called with the operation of every request, before
// any fault, in the request's goroutine; nil removes it. It must not block.
func (p *Proxy) OnRequest(fn func(op string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onRequest = fn
}

// Counts returns how many requests arrived, by operation ("" for a request
// without X-Amz-Target).
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return copyMap(p.counts)
}

// Faults returns how many faults were injected, by kind (FaultCut,
// FaultHang, FaultThrottle, FaultDelay, FaultAbandoned). A request counts
// once per kind it suffered.
func (p *Proxy) Faults() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return copyMap(p.faults)
}

func copyMap(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (p *Proxy) setMode(m mode) { p.change(func() { p.mode = m }) }

// change applies f under the lock and wakes every request waiting on the
// faults.
func (p *Proxy) change(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
}

// faultState is what applies to one request at one moment.
type faultState struct {
	mode    mode
	delay   time.Duration
	changed <-chan struct{}
}

// state returns the faults that apply to op now.
func (p *Proxy) state(op string) faultState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := faultState{changed: p.changed}
	if p.only == nil || p.only[op] {
		st.mode, st.delay = p.mode, p.delay
	}
	return st
}

func (p *Proxy) count(m map[string]int, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m[key]++
}

// operation returns the DynamoDB operation of r: the part of X-Amz-Target
// after the dot.
func operation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// serve handles one request: count it, apply the faults, forward it.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.handlers.Add(1)
	defer p.handlers.Done()

	op := operation(r)
	p.mu.Lock()
	p.counts[op]++
	hook := p.onRequest
	p.mu.Unlock()
	if hook != nil {
		hook(op)
	}

	body, err := io.ReadAll(r.Body)
	if err != nil { // the client went away while sending
		p.abandon(w)
		return
	}
	if !p.admit(w, r, op) {
		return
	}
	p.forward(w, r, op, body)
}

// admit applies the delay and the mode before forwarding. It reports false
// when the request was answered or dropped.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request, op string) bool {
	st := p.state(op)
	if st.delay > 0 {
		p.count(p.faults, FaultDelay)
		t := time.NewTimer(st.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			p.abandon(w)
			return false
		case <-p.closing:
			drop(w)
			return false
		}
	}
	held := false
	for {
		st := p.state(op)
		switch st.mode {
		case modeCut:
			p.count(p.faults, FaultCut)
			drop(w)
			return false
		case modeThrottle:
			p.count(p.faults, FaultThrottle)
			throttle(w)
			return false
		case modeHang:
			if !held {
				held = true
				p.count(p.faults, FaultHang)
			}
			select {
			case <-st.changed: // look again
			case <-r.Context().Done(): // the client gave up: never forwarded
				p.abandon(w)
				return false
			case <-p.closing:
				drop(w)
				return false
			}
		default:
			return true
		}
	}
}

// forward sends the request to DynamoDB and relays the answer, unless a Cut
// (or Close) comes first: then the client's connection is reset, whatever
// DynamoDB did.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, p.target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		drop(w)
		return
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Connection")
	out.Host = r.Host

	type answer struct {
		res  *http.Response
		body []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := p.client.Do(out)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- answer{res: res, body: b, err: err}
	}()

	for {
		st := p.state(op)
		if st.mode == modeCut {
			p.count(p.faults, FaultCut)
			cancel()
			<-done
			drop(w)
			return
		}
		select {
		case a := <-done:
			if a.err != nil || p.loseAnswer(op) {
				drop(w) // DynamoDB unreachable (or the answer lost): look like it to the client
				return
			}
			relay(w, a.res, a.body)
			return
		case <-st.changed: // a Cut may have started: look again
		case <-p.closing:
			cancel()
			<-done
			drop(w)
			return
		}
	}
}

// relay writes DynamoDB's answer to the client.
func relay(w http.ResponseWriter, res *http.Response, body []byte) {
	h := w.Header()
	for k, vs := range res.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive":
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// throttle answers as DynamoDB does when it throttles a request.
func throttle(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-ErrorType", "ThrottlingException")
	h.Set("Content-Length", strconv.Itoa(len(ThrottlingBody)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, ThrottlingBody)
}

// abandon drops a request whose client gave up before it was forwarded,
// and counts it (FaultAbandoned).
func (p *Proxy) abandon(w http.ResponseWriter) {
	p.count(p.faults, FaultAbandoned)
	drop(w)
}

// drop closes the client's connection without an answer, with a TCP reset
// where possible.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		if errors.Is(err, http.ErrHijacked) {
			return
		}
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST: "connection reset by peer"
	}
	_ = conn.Close()
}
