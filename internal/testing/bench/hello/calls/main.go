// Command calls is a hello world that builds the connector's AWS clients at
// init and, on each invocation, calls the AWS operations its event names,
// in order: {"ops": ["GetSecretValue", "PutItem", ...]}. It is the floor of
// a first invocation that makes the same calls (see package hello). The
// table (TABLE_NAME) and the secret (GOTO_SECRET_ID, or LINK_SECRET_ID in
// authorize's environment, which has no GOTO_SECRET_ID) are the connector's.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// event names the operations to call.
type event struct {
	Ops []string `json:"ops"`
}

type app struct {
	db     *dynamodb.Client
	sm     *secretsmanager.Client
	table  string
	secret string
}

func main() {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a := &app{
		db: dynamodb.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg),
		table: os.Getenv("TABLE_NAME"), secret: os.Getenv("GOTO_SECRET_ID"),
	}
	if a.secret == "" {
		a.secret = os.Getenv("LINK_SECRET_ID")
	}
	lambda.Start(a.handle)
}

func (a *app) handle(ctx context.Context, ev event) (string, error) {
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "hello#" + strconv.FormatInt(time.Now().UnixNano(), 36)}}
	for _, op := range ev.Ops {
		var err error
		switch op {
		case "GetSecretValue":
			_, err = a.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &a.secret})
		case "GetItem":
			_, err = a.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &a.table, Key: key, ConsistentRead: aws.Bool(true)})
		case "PutItem":
			_, err = a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &a.table, Item: key})
		case "UpdateItem":
			_, err = a.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &a.table, Key: key,
				UpdateExpression:          aws.String("SET #v = :v"),
				ExpressionAttributeNames:  map[string]string{"#v": "hello"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}}})
		case "DeleteItem":
			_, err = a.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &a.table, Key: key})
		case "Query":
			_, err = a.db.Query(ctx, &dynamodb.QueryInput{TableName: &a.table, IndexName: aws.String("due"),
				KeyConditionExpression:    aws.String("due_shard = :s AND next_refresh_at <= :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "due#00"}, ":n": &types.AttributeValueMemberN{Value: "0"}}})
		default:
			return "", fmt.Errorf("unknown operation %q", op)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
	}
	return "hello", nil
}
