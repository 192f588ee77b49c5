// Command local runs the connector on this machine (`make run`): DynamoDB
// Local, a local GoTo (or the real one, given GOTO_CLIENT_ID and
// GOTO_CLIENT_SECRET), the real authorize and callback handlers, the
// refresh sweep and the Connections API (without IAM, on loopback). It
// prints a signed connect link and a curl for the token route; Ctrl-C stops
// everything.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/localrun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	fmt.Fprintln(os.Stderr, "starting DynamoDB Local, GoTo and the connector...")
	stack, err := localrun.Start(ctx, localrun.Options{Port: os.Getenv("PORT"), Getenv: os.Getenv, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
	defer stack.Close()

	link, err := stack.Link(localrun.DemoConnectionID, time.Hour)
	if err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
	var goTo string
	if stack.UsesRealGoTo() {
		goTo = "GoTo itself (" + stack.Config.Endpoint.AuthURL + "); register " + stack.Config.RedirectURI + " as a redirect URI"
	} else {
		goTo = "a local GoTo-compatible server (gototest) at " + stack.GoTo.URL
	}
	fmt.Printf(`
GoTo connector running at %s
  GoTo:          %s
  DynamoDB:      table %s (DynamoDB Local)
  Redirect URI:  %s

Open this signed connect link (valid 1 hour) in a browser, or follow it with curl:

%s

or start from the demo SaaS page: %s/

Once connected, a backend gets a fresh access token from the Connections API
(in AWS every /connections route requires IAM: sign with SigV4, see README.md):

  curl -s %s/connections/%s/token

  curl -s %s/connections/%s                          # status, identity, expiries
  curl -s '%s/connections?status=reauth_required'    # who must connect again
  curl -s -X DELETE %s/connections/%s                # disconnect for good

Press Ctrl-C to stop.
`, stack.BaseURL, goTo, stack.Config.TableName, stack.Config.RedirectURI, link, stack.BaseURL,
		stack.BaseURL, localrun.DemoConnectionID, stack.BaseURL, localrun.DemoConnectionID, stack.BaseURL,
		stack.BaseURL, localrun.DemoConnectionID)

	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping...")
}
