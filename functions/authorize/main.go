// Command authorize is the Lambda function behind GET /authorize. It only wires and
// starts; the handler is connect.App.Authorize.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gotoconnector/gotoconnector/internal/wire"
)

func main() {
	parts, err := wire.FromEnv(context.Background(), os.Getenv)
	if err != nil {
		wire.Fatal(err)
	}
	lambda.Start(parts.ConnectApp().Authorize)
}
