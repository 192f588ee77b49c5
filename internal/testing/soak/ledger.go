package soak

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// procPrefix starts the token URL path of each process: a process named P
// sends its token requests to /p/P/oauth/token, so the ledger knows who
// asked. gototest serves the rest of the path.
const procPrefix = "/p/"

// rotation is one refresh GoTo answered with a new refresh token.
type rotation struct {
	conn, proc string
	at         time.Time
	old, new   string
	// abandoned: the asking process had hung up before the answer.
	abandoned bool
}

// reuse is a rotated-away refresh token presented again.
type reuse struct {
	conn, proc string
	at         time.Time
	token      string
}

// ledger sits in front of gototest's handler and records every refresh it
// answers: which connection's refresh token was rotated, to what, when, and
// for which process. It also serves gototest on loopback. Safe for concurrent
// use.
type ledger struct {
	srv *gototest.Server

	mu        sync.Mutex
	owner     map[string]string    // refresh token -> connection id
	latest    map[string]string    // connection id -> last refresh token GoTo issued
	next      map[string]*rotation // refresh token -> the rotation that spent it
	reuses    []reuse
	answers   map[string]map[int]int // grant type -> status -> count
	meAnswers map[int]int
}

func newLedger(srv *gototest.Server) *ledger {
	return &ledger{
		srv:       srv,
		owner:     make(map[string]string),
		latest:    make(map[string]string),
		next:      make(map[string]*rotation),
		answers:   make(map[string]map[int]int),
		meAnswers: make(map[int]int),
	}
}

// tokenURL is the token URL for process proc.
func (l *ledger) tokenURL(proc string) string {
	return l.srv.URL + procPrefix + proc + gototest.TokenPath
}

// register records the refresh token a connection was created with.
func (l *ledger) register(conn, rt string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner[rt] = conn
	l.latest[conn] = rt
}

// ServeHTTP strips the process prefix, lets gototest answer and records the
// answer of each refresh.
func (l *ledger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	proc := ""
	if rest, ok := strings.CutPrefix(r.URL.Path, procPrefix); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			proc = rest[:i]
			r.URL.Path = rest[i:]
			r.URL.RawPath = ""
		}
	}
	if r.URL.Path == gototest.MePath {
		rec := &recorder{ResponseWriter: w}
		l.srv.Handler().ServeHTTP(rec, r)
		l.mu.Lock()
		l.meAnswers[rec.code()]++
		l.mu.Unlock()
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != gototest.TokenPath {
		l.srv.Handler().ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	rec := &recorder{ResponseWriter: w}
	l.srv.Handler().ServeHTTP(rec, r)
	l.record(proc, form, rec, r.Context().Err() != nil)
}

// record books one token answer.
func (l *ledger) record(proc string, form url.Values, rec *recorder, abandoned bool) {
	gt := form.Get("grant_type")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answers[gt] == nil {
		l.answers[gt] = make(map[int]int)
	}
	l.answers[gt][rec.code()]++
	if gt != "refresh_token" {
		return
	}
	old := form.Get("refresh_token")
	conn := l.owner[old]
	var answer struct {
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &answer)
	now := time.Now()
	switch {
	case rec.code() == http.StatusOK && answer.RefreshToken != "" && answer.RefreshToken != old && conn != "":
		l.next[old] = &rotation{conn: conn, proc: proc, at: now, old: old, new: answer.RefreshToken, abandoned: abandoned}
		l.owner[answer.RefreshToken] = conn
		l.latest[conn] = answer.RefreshToken
	case answer.Error == "invalid_grant" && l.next[old] != nil:
		l.reuses = append(l.reuses, reuse{conn: conn, proc: proc, at: now, token: old})
	}
}

// revokeLatest revokes the connection's current refresh token at GoTo, as a
// customer disconnecting the app would. It reports whether it did.
func (l *ledger) revokeLatest(conn string) bool {
	for range 20 {
		l.mu.Lock()
		rt := l.latest[conn]
		l.mu.Unlock()
		if rt != "" && l.srv.Revoke(rt) {
			return true
		}
		time.Sleep(50 * time.Millisecond) // a rotation in flight: take the next one
	}
	return false
}

// rotationOf returns the rotation that spent rt, if GoTo rotated it.
func (l *ledger) rotationOf(rt string) *rotation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next[rt]
}

// snapshot returns the reuses and answer counts so far.
func (l *ledger) snapshot() (reuses []reuse, answers map[string]map[int]int, me map[int]int, rotations int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	answers = make(map[string]map[int]int)
	for gt, m := range l.answers {
		answers[gt] = make(map[int]int)
		for k, v := range m {
			answers[gt][k] = v
		}
	}
	me = make(map[int]int)
	for k, v := range l.meAnswers {
		me[k] = v
	}
	return append([]reuse(nil), l.reuses...), answers, me, len(l.next)
}

// recorder passes a response through and keeps a copy of its status and
// body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
