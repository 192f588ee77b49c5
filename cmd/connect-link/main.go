// Command connect-link mints a signed connect link, as a SaaS backend does,
// so that backends in any language can check their own signing against it.
//
//	GOTO_LINK_SIGNING_KEY=... go run ./cmd/connect-link \
//	    -authorize-url https://abc123.execute-api.eu-west-1.amazonaws.com/authorize \
//	    -connection-id customer-42 -return-to https://app.example.com/integrations/goto -ttl 15m
//
// With -verbose it also prints the canonical string and the signature.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "connect-link:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("connect-link", flag.ContinueOnError)
	authorizeURL := fs.String("authorize-url", "http://localhost:8080/authorize", "the connector's public GET /authorize URL (stack output AuthorizeUrl)")
	connectionID := fs.String("connection-id", "", "your id for this connection: 1 to 128 of A-Z a-z 0-9 . _ : -")
	returnTo := fs.String("return-to", "", "where the browser goes when the flow ends (its origin must be in ALLOWED_RETURN_ORIGINS)")
	ttl := fs.Duration("ttl", 15*time.Minute, "how long the link works")
	keyFile := fs.String("key-file", "", "file holding the link signing key (default: $GOTO_LINK_SIGNING_KEY)")
	verbose := fs.Bool("verbose", false, "also print the canonical string and the signature")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key := os.Getenv("GOTO_LINK_SIGNING_KEY")
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		key = strings.TrimRight(string(b), "\r\n")
	}
	if key == "" {
		return errors.New("no signing key: set GOTO_LINK_SIGNING_KEY or pass -key-file")
	}
	if *connectionID == "" {
		return errors.New("-connection-id is required")
	}
	if *ttl <= 0 {
		return errors.New("-ttl must be positive")
	}
	l := gotoauth.Link{ConnectionID: *connectionID, ReturnTo: *returnTo, Expires: time.Now().Add(*ttl)}
	link, err := gotoauth.SignLink(*authorizeURL, []byte(key), l)
	if err != nil {
		return err
	}
	if *verbose {
		fmt.Fprintf(os.Stderr, "canonical: %s\nsignature: %s\n", l.Canonical(), l.Signature([]byte(key)))
	}
	fmt.Println(link)
	return nil
}
