package gotoauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// DynamoDB Local runs for the tests that need it, and stops afterwards.
func TestMain(m *testing.M) { testutil.Main(m) }

// newHTTPServer serves h on loopback for the test and returns its URL.
func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
