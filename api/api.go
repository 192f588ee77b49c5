// Package api holds the HTTP contract of the connector (openapi.yaml: every
// route, its answers and the lifecycle events' detail), embedded so that the
// tests check the handlers against the very document that is published.
package api

import _ "embed"

// OpenAPI is the content of openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
