package gototest_test

import (
	"context"
	"html"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsentWithCurl runs the consent flow the way the package doc shows,
// with curl: fetch the page, post its hidden fields with decision=allow.
func TestConsentWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil || testing.Short() {
		t.Skip("curl not available, or -short")
	}
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	page, err := exec.CommandContext(ctx, curl, "-s", authURL(s, nil)).Output()
	if err != nil {
		t.Fatalf("curl GET: %v", err)
	}
	args := []string{"-s", "-D-", "-o", "/dev/null", "-d", "decision=allow"}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(page), -1) {
		args = append(args, "-d", m[1]+"="+html.UnescapeString(m[2]))
	}
	if len(args) < 10 {
		t.Fatalf("no hidden fields in the page:\n%s", page)
	}
	out, err := exec.CommandContext(ctx, curl, append(args, s.AuthorizeURL())...).Output()
	if err != nil {
		t.Fatalf("curl POST: %v", err)
	}
	if !strings.HasPrefix(string(out), "HTTP/1.1 302") {
		t.Fatalf("curl POST answered:\n%s", out)
	}
	m := regexp.MustCompile(`(?mi)^Location: (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no Location in:\n%s", out)
	}
	loc, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if r := exchange(t, s, loc.Query().Get("code"), nil); r.status != 200 || loc.Query().Get("state") != "st-123" {
		t.Fatalf("exchange of the curl code: %d %s (redirect %s)", r.status, r.body, loc.Redacted())
	}
}
