package gototest

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"
)

// maxBody bounds the form bodies the server reads.
const maxBody = 1 << 20

const pageStyle = `body{margin:0;background:#f3f5f8;color:#1d2733;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:30rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:10px;box-shadow:0 2px 10px rgba(0,0,0,.12)}
h1{margin:0 0 1rem;font-size:1.3rem}
.brand{color:#f68d2e;font-weight:700}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:1.25rem 0}
dt{color:#5b6b7c}dd{margin:0;word-break:break-all}
.buttons{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}
button{font:inherit;padding:.5rem 1.4rem;border-radius:6px;border:1px solid #b8c2cc;background:#fff;cursor:pointer}
#allow{background:#0b5fff;border-color:#0b5fff;color:#fff}
.error{color:#b42318}
footer{margin-top:1.5rem;font-size:.8rem;color:#7b8794}`

var consentTemplate = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allow access - GoTo (gototest)</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1><span class="brand">GoTo</span> sign-in</h1>
<p><strong id="client">{{.ClientID}}</strong> is requesting access to your GoTo account.</p>
<dl>
<dt>Signed in as</dt><dd id="user">{{.Identity.FirstName}} {{.Identity.LastName}} &lt;{{.Identity.Email}}&gt;</dd>
<dt>Scope</dt><dd id="scope">{{.Scope}}</dd>
<dt>Redirect</dt><dd id="redirect">{{.Redirect}}</dd>
</dl>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<div class="buttons">
<button name="decision" value="deny" id="deny">Deny</button>
<button name="decision" value="allow" id="allow">Allow</button>
</div>
</form>
<footer>gototest: a GoTo-compatible test authorization server.</footer>
</main>
</body>
</html>
`))

var errorTemplate = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Status}} {{.Title}} - GoTo (gototest)</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1><span class="brand">GoTo</span> sign-in</h1>
<p class="error" id="error">{{.Title}}: {{.Message}}</p>
<footer>gototest: the request was not redirected to the client.</footer>
</main>
</body>
</html>
`))

type consentPage struct {
	ClientID string
	Identity Identity
	Scope    string
	Redirect string
	Action   string
	Hidden   []hiddenField
}

func writeConsentPage(w http.ResponseWriter, p consentPage) {
	writePage(w, http.StatusOK, consentTemplate, p)
}

// writeErrorPage answers status with an HTML page describing err.
func writeErrorPage(w http.ResponseWriter, status int, err error) {
	msg := err.Error()
	var bad *badAuthzRequest
	if errors.As(err, &bad) {
		msg = bad.reason
	}
	writePage(w, status, errorTemplate, struct {
		Status  int
		Title   string
		Message string
	}{status, "Invalid request", msg})
}

func writePage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "gototest: rendering page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
