package gotoauth_test

import (
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// DynamoDB Local runs for the tests that need it, and stops afterwards.
func TestMain(m *testing.M) { testutil.Main(m) }
