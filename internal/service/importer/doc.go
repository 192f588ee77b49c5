// Package importer is cmd/import: it reads connections made by another GoTo
// integration, one JSON object a line, checks every line, stores each valid
// one through gotoauth.Store.ImportConnection (as the callback stores a
// consent: encrypted, scheduled, active), optionally verifies each imported
// refresh token with one refresh through the token source's shared rate
// limit, and reports one result a line and a summary. It never prints a
// token. docs/import.md is its guide.
package importer
