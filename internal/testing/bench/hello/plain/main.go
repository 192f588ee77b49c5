// Command plain is the smallest aws-lambda-go function: the cold-start
// floor of the benchmark (see package hello).
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
