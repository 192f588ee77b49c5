// Package gotoconnector holds the AWS SAM template of the GoTo OAuth connector,
// embedded so that local runs and tests create the DynamoDB table from the
// exact definition that is deployed.
//
// The product itself lives in functions/ (the Lambda entry points),
// pkg/gotoauth (the public library) and internal/ (everything else).
package gotoconnector

import _ "embed"

// Template is the content of template.yaml.
//
//go:embed template.yaml
var Template []byte
