package browsertest

import (
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

// localrun starts its own DynamoDB Local and Stack.Close stops it; Main
// stops the one testutil may have started.
func TestMain(m *testing.M) { testutil.Main(m) }
