// Package ops holds the types of pkg/gotoauth's operator methods, the ones
// only the connector's own commands call: importing connections made
// elsewhere (cmd/import, Store.ImportConnection), re-encrypting the table
// (cmd/reencrypt, Store.ReencryptAll) and counting KMS requests (tests and
// benchmarks, KMSCipher.Calls). A Go backend never needs them, so they are
// kept out of the library's public API: only code inside this module can
// name them.
package ops

import "time"

// Import is a connection made outside the connector (a SaaS's own GoTo
// integration) to bring in with Store.ImportConnection; the identity
// fields are passed beside it.
type Import struct {
	ConnectionID string
	// RefreshToken is required.
	RefreshToken string
	// AccessToken is optional; with it, AccessTokenExpiresAt is its expiry.
	// Without it, the first caller that needs an access token refreshes.
	AccessToken          string
	AccessTokenExpiresAt time.Time
	// RefreshTokenIssuedAt is when GoTo issued the refresh token; zero when
	// unknown, counted as issued at the import (its lifetime is then
	// assumed to start now).
	RefreshTokenIssuedAt time.Time
}

// ImportResult is what ImportConnection did (or, with a dry run, would do).
type ImportResult string

// Results of ImportConnection.
const (
	// Imported: the connection did not exist and is stored now.
	Imported ImportResult = "imported"
	// Replaced: with overwrite, an existing connection holding another
	// refresh token was replaced.
	Replaced ImportResult = "replaced"
	// Unchanged: the connection is stored with this refresh token already
	// (an earlier import, or the same consent); nothing was written.
	Unchanged ImportResult = "unchanged"
	// SkippedExists: the connection exists with another refresh token and
	// overwrite was not asked; nothing was written.
	SkippedExists ImportResult = "skipped-exists"
)

// ImportOptions says how ImportConnection treats existing connections.
type ImportOptions struct {
	// Overwrite replaces an existing connection that holds another refresh
	// token (one connected through the flow, or imported before and
	// rotated since by a refresh).
	Overwrite bool
	// DryRun reads but never writes: the result says what would be done.
	DryRun bool
}

// ReencryptSummary counts what Store.ReencryptAll did.
type ReencryptSummary struct {
	// Seen is how many connections were looked at.
	Seen int `json:"seen"`
	// Reencrypted is how many were rewritten under the active key.
	Reencrypted int `json:"reencrypted"`
	// Failed maps a connection id to why it could not be re-encrypted
	// (ErrTokenKey when its key is not among the store's keys).
	Failed map[string]string `json:"failed,omitempty"`
}

// KMSCalls counts the KMS requests a gotoauth.KMSCipher made.
type KMSCalls struct {
	// GenerateDataKey is how many data keys were asked for.
	GenerateDataKey int
	// Decrypt is how many data keys were decrypted.
	Decrypt int
}
