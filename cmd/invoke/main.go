// Command invoke is `make invoke` without the SAM CLI or Docker: it does
// what `sam local invoke FN -e EVENT --env-vars env.json` does with the
// AWS Lambda Runtime Interface Emulator on this machine.
//
//	go run ./cmd/invoke -fn AuthorizeFunction -event events/authorize.json [-env-vars env.json]
//
// It builds the function's bootstrap with the Makefile target `sam build`
// runs (make build-<LogicalId>, same flags, this machine's architecture)
// into .cache/invoke/<LogicalId>/, runs it under the emulator with the
// environment SAM would give it from template.yaml and env.json, starts
// DynamoDB Local with the table when env.json points the function at a
// local endpoint that does not answer, sends the event and prints the
// function's response on stdout, as sam local invoke does; notes, the
// build and the function's logs go to stderr.
//
// Unlike SAM, env.json names the template does not declare are passed to
// the function too: env.json's "Parameters" hold the local-only settings
// (AWS_ENDPOINT_URL_DYNAMODB, GOTO_CLIENT_SECRET, GOTO_LINK_SIGNING_KEY,
// dummy AWS credentials). Connect links expire, so an event whose link
// expired is re-signed with the local link signing key (stderr says so).
//
// Like sam local invoke, it exits 0 when the function returned an error
// (the error object is the printed response). It exits 1 when the
// invocation could not be made, 2 on bad usage, 130 when interrupted;
// whatever it started (the emulator, DynamoDB Local) is stopped in every
// case.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"

	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fnID := fs.String("fn", "", "logical id of the function in template.yaml (AuthorizeFunction, CallbackFunction, RefreshFunction, ConnectionsFunction)")
	eventPath := fs.String("event", "", "JSON file with the event (events/*.json)")
	envPath := fs.String("env-vars", "env.json", "environment variables file, in sam local invoke --env-vars format")
	templatePath := fs.String("template", "", "SAM template (default: template.yaml at the module root)")
	buildDir := fs.String("build-dir", "", "where the bootstrap is built (default: .cache/invoke/<fn> at the module root)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *fnID == "" || *eventPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: invoke -fn <LogicalId> -event <file> [-env-vars env.json]")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	resp, err := invokeLocal(ctx, *fnID, *eventPath, *envPath, *templatePath, *buildDir)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "invoke: interrupted; everything it started is stopped")
		return 130
	}
	var ie *invoke.InvokeError
	if errors.As(err, &ie) && len(ie.Body) > 0 {
		// The emulator's own failure (the function could not start, ...):
		// show its answer as sam local invoke would, and fail.
		printResponse(ie.Body)
		fmt.Fprintln(os.Stderr, "invoke:", err)
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		return 1
	}
	printResponse(resp)
	if typ, msg, ok := invoke.FunctionError(resp); ok {
		fmt.Fprintf(os.Stderr, "invoke: the function returned an error (%s): %s\n", typ, msg)
	}
	return 0
}

func invokeLocal(ctx context.Context, fnID, eventPath, envPath, templatePath, buildDir string) ([]byte, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := devenv.ModuleRoot(wd)
	if err != nil {
		return nil, err
	}
	if templatePath == "" {
		templatePath = filepath.Join(root, "template.yaml")
	}
	template, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	event, err := os.ReadFile(eventPath)
	if err != nil {
		return nil, err
	}
	vars := invoke.EnvVars{}
	if envPath != "" {
		data, err := os.ReadFile(envPath)
		if err != nil {
			return nil, err
		}
		if vars, err = invoke.ParseEnvVars(data); err != nil {
			return nil, fmt.Errorf("%s: %w", envPath, err)
		}
	}
	rie, err := invoke.FindRIE(root)
	if err != nil {
		return nil, err
	}
	return invoke.Local(ctx, invoke.LocalOptions{
		Root:       root,
		FunctionID: fnID,
		Template:   template,
		EnvVars:    vars,
		Event:      event,
		Lookup:     os.LookupEnv,
		RIE:        rie,
		BuildDir:   buildDir,
		Log:        os.Stderr,
	})
}

// printResponse writes the function's response on stdout, on a line of its
// own.
func printResponse(b []byte) {
	os.Stdout.Write(b)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		os.Stdout.Write([]byte{'\n'})
	}
}
