// Command connections is the Lambda function behind the Connections API
// (GET/DELETE /connections/{connection_id}, GET .../token, GET
// /connections), every route IAM-authorized. It only wires and starts; the
// handler is connections.App.Handle.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gotoconnector/gotoconnector/internal/service/connections"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
)

func main() {
	parts, err := platform.FromEnv(context.Background(), os.Getenv)
	if err != nil {
		platform.Fatal(err)
	}
	lambda.Start(platform.Invocation(connections.NewApp(parts).Handle))
}
