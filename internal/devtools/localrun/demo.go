package localrun

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// The demo pages play the SaaS product: a page with a Connect button, and
// the return_to page the connector sends the browser back to.

var demoTemplate = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
.ok{color:#0a7d32}.err{color:#b00020}a.button{display:inline-block;background:#0b57d0;color:#fff;padding:.5rem 1rem;border-radius:6px;text-decoration:none}
dt{font-weight:600}code{background:#f2f2f2;padding:0 .2rem}</style></head><body>
<h1 id="title" class="{{.Class}}">{{.Title}}</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Conn}}<dl id="connection">
<dt>Connection</dt><dd id="connection-id">{{.Conn.ConnectionID}}</dd>
<dt>GoTo account</dt><dd id="account">{{.Conn.Account}}</dd>
<dt>Status</dt><dd id="status">{{.Conn.Status}}</dd>
<dt>Access token expires</dt><dd>{{.Conn.AccessTokenExpiresAt.Format "2006-01-02 15:04:05 MST"}}</dd>
<dt>Refresh token expires</dt><dd>{{.Conn.RefreshTokenExpiresAt.Format "2006-01-02 15:04:05 MST"}}</dd>
<dt>Next scheduled refresh</dt><dd>{{.Conn.NextRefreshAt.Format "2006-01-02 15:04:05 MST"}}</dd>
</dl>{{end}}
<p><a class="button" id="connect" href="/app/connect?connection_id={{.ConnectionID}}">Connect a GoTo account</a></p>
<p>This page plays your SaaS product. The button mints a signed connect link for
connection <code>{{.ConnectionID}}</code> and follows it.</p>
</body></html>
`))

type demoPage struct {
	Title, Class, Message, ConnectionID string
	Conn                                *gotoauth.Connection
}

func (s *Stack) render(w http.ResponseWriter, p demoPage) {
	if p.ConnectionID == "" {
		p.ConnectionID = DemoConnectionID
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = demoTemplate.Execute(w, p)
}

func (s *Stack) index(w http.ResponseWriter, r *http.Request) {
	s.render(w, demoPage{Title: "Demo SaaS: connect GoTo"})
}

// connect mints a fresh link and follows it, as a SaaS backend would.
func (s *Stack) connect(w http.ResponseWriter, r *http.Request) {
	id := trimID(r.URL.Query().Get("connection_id"))
	if id == "" {
		id = DemoConnectionID
	}
	link, err := s.Link(id, 15*time.Minute)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, link, http.StatusFound)
}

// returnPage is the return_to page: it shows the status the connector sent
// and the stored connection (never its tokens).
func (s *Stack) returnPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := trimID(q.Get("connection_id"))
	p := demoPage{ConnectionID: id}
	switch q.Get("status") {
	case "connected":
		p.Title, p.Class = "GoTo account connected", "ok"
		if c, err := s.Store.Connection(r.Context(), id); err == nil {
			p.Conn = c
			p.Message = "Connected GoTo account " + c.Account() + "."
		} else if errors.Is(err, gotoauth.ErrNotFound) {
			p.Message = "The connector reported success, but no connection is stored."
			p.Class = "err"
		}
	case "error":
		p.Title, p.Class = "GoTo account not connected", "err"
		p.Message = "The connector reported error=" + oauth.SafeCode(q.Get("error")) + "."
	default:
		p.Title = "Demo SaaS: connect GoTo"
	}
	s.render(w, p)
}
