package testutil

import (
	"context"
	"sync"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
)

var (
	kmsOnce     sync.Once
	localKMS    *devenv.KMS
	kmsStartErr error
)

// KMS returns the test binary's local-kms (starting it on first use, with
// one symmetric key; Main stops it). A test that needs it fails, with the
// reason, if it cannot be started: run `make test`, which installs it.
func KMS(t testing.TB) *devenv.KMS {
	t.Helper()
	kmsOnce.Do(func() { localKMS, kmsStartErr = devenv.StartKMS(context.Background()) })
	if kmsStartErr != nil {
		t.Fatalf("local-kms: %v", kmsStartErr)
	}
	return localKMS
}
