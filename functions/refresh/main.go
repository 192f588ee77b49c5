// Command refresh is the Lambda function that keeps every connection alive:
// on its EventBridge schedule it sweeps the due connections, and on a manual
// invocation ({"connection_ids": [...], "force": true}) it refreshes those.
// It only wires and starts; the logic is in internal/service/refresh.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
)

func main() {
	parts, err := platform.FromEnv(context.Background(), os.Getenv)
	if err != nil {
		platform.Fatal(err)
	}
	if err := refresh.CheckTimeout(os.Getenv); err != nil {
		platform.Fatal(err)
	}
	lambda.Start(platform.Invocation(refresh.NewHandler(parts)))
}
