package gototest_test

import (
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestStyleAndRotationStrings(t *testing.T) {
	for got, want := range map[string]string{
		gototest.StyleCurrent.String():             "current",
		gototest.StyleLegacy.String():              "legacy",
		gototest.Style(9).String():                 "Style(invalid)",
		gototest.RotationKeep().String():           "keep",
		gototest.Rotation{}.String():               "keep",
		gototest.RotationEcho().String():           "echo",
		gototest.RotationSingleUse().String():      "single-use",
		gototest.RotationAfter(0).String():         "single-use",
		gototest.RotationAfter(time.Hour).String(): "after 1h0m0s",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := gototest.NewUnstartedServer()
	defer s.Close()
	if s.ClientID != "gototest-client" || s.ClientSecret != "s3cr+t/Value==" {
		t.Errorf("client %q / %q", s.ClientID, s.ClientSecret)
	}
	if s.URL != "" || s.AuthorizeURL() != "/oauth/authorize" {
		t.Errorf("unstarted URL %q, AuthorizeURL %q", s.URL, s.AuthorizeURL())
	}
	id := gototest.DefaultIdentity()
	if id.Principal != id.Email || id.AccountKey != "9999982253621659654" || id.OrganizerKey != "8439885694023999999" {
		t.Errorf("DefaultIdentity = %+v", id)
	}
	s.Close() // idempotent
}

func TestIdentityPrincipal(t *testing.T) {
	s := start(t, gototest.WithIdentity(gototest.Identity{Email: "e@x.example", Principal: "p@x.example"}))
	if got := login(t, s).str("principal"); got != "p@x.example" {
		t.Errorf("principal = %q", got)
	}
	s = start(t, gototest.WithIdentity(gototest.Identity{Email: "e@x.example"}))
	if got := login(t, s).str("principal"); got != "e@x.example" {
		t.Errorf("principal = %q", got)
	}
}
