package devenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector"
)

// ConnectionsTableID is the logical id of the connections table in
// template.yaml.
const ConnectionsTableID = "ConnectionsTable"

// tableActiveTimeout bounds the wait for a created table to become ACTIVE.
const tableActiveTimeout = 30 * time.Second

// CreateTable creates the connections table named tableName, as defined by
// resource ConnectionsTableID of the embedded template.yaml, waits until it
// is ACTIVE and enables its TimeToLiveSpecification. A table that already
// exists is not an error (its TTL is still ensured).
func CreateTable(ctx context.Context, client *dynamodb.Client, tableName string) error {
	p, err := parseTableProperties(gotoconnector.Template, ConnectionsTableID)
	if err != nil {
		return err
	}
	in, ttl := createTableInput(p), timeToLive(p)
	in.TableName = aws.String(tableName)

	if _, err := client.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return fmt.Errorf("devenv: creating table %s: %w", tableName, err)
		}
	}
	err = dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	}).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)}, tableActiveTimeout)
	if err != nil {
		return fmt.Errorf("devenv: waiting for table %s to be ACTIVE: %w", tableName, err)
	}

	if ttl == nil || !aws.ToBool(ttl.Enabled) {
		return nil
	}
	return enableTTL(ctx, client, tableName, ttl)
}

// enableTTL applies ttl to tableName unless it is already enabled on the
// same attribute (DynamoDB rejects enabling it twice).
func enableTTL(ctx context.Context, client *dynamodb.Client, tableName string, ttl *types.TimeToLiveSpecification) error {
	cur, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tableName)})
	if err != nil {
		return fmt.Errorf("devenv: describing TTL of table %s: %w", tableName, err)
	}
	if d := cur.TimeToLiveDescription; d != nil &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) &&
		aws.ToString(d.AttributeName) == aws.ToString(ttl.AttributeName) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(tableName),
		TimeToLiveSpecification: ttl,
	})
	if err != nil {
		return fmt.Errorf("devenv: enabling TTL on %s of table %s: %w",
			aws.ToString(ttl.AttributeName), tableName, err)
	}
	return nil
}
