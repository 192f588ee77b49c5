package localrun

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// Through the real local stack: HEAD on a connect link runs no handler
// (no pending state stored, no cookie), GET does; a foreign Host is
// refused before any handler.
func TestLocalServerRoutes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Port: "0", SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	link, err := s.Link("head-test", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, url, host string) *http.Response {
		req, _ := http.NewRequest(method, url, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: headers %v", method, url, resp.Header)
		}
		return resp
	}
	if r := do("HEAD", link, ""); r.StatusCode != http.StatusNotFound || len(r.Cookies()) != 0 {
		t.Fatalf("HEAD: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if r := do("GET", link, "attacker.example:80"); r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %d", r.StatusCode)
	}
	if n := len(testutil.Items(t, s.DB, s.Config.TableName)); n != 0 {
		t.Fatalf("%d items stored by HEAD or a foreign Host", n)
	}
	if r := do("GET", link, ""); r.StatusCode != http.StatusFound || len(r.Cookies()) != 1 {
		t.Fatalf("GET: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if n := len(testutil.Items(t, s.DB, s.Config.TableName)); n != 1 {
		t.Fatalf("%d items after GET, want the pending state", n)
	}
}
