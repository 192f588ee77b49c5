package oauth_test

import (
	"fmt"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
)

// GoTo documents the Basic header as the base64 of the raw id and secret.
func ExampleBasicAuth() {
	fmt.Println(oauth.BasicAuth("client", "s3cr+t/Value=="))
	// Output: Basic Y2xpZW50OnMzY3IrdC9WYWx1ZT09
}
