// Command authorize is the Lambda function behind GET /authorize. It only
// wires and starts; the handler is connect.App.Authorize.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
)

func main() {
	parts, err := platform.FromEnv(context.Background(), os.Getenv)
	if err != nil {
		platform.Fatal(err)
	}
	lambda.Start(platform.Invocation(connect.NewApp(parts).Authorize))
}
