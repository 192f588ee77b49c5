package devenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Client returns a DynamoDB SDK client pointed at d, with the dummy
// credentials LocalAccessKeyID/LocalSecretAccessKey and region LocalRegion,
// and without the response checksum check DynamoDB Local does not pass.
func (d *DynamoDB) Client(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(LocalRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			LocalAccessKeyID, LocalSecretAccessKey, "")),
	)
	if err != nil {
		return nil, fmt.Errorf("devenv: loading AWS config for DynamoDB Local: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(d.endpoint)
		// DynamoDB Local answers conditional check failures with a zero
		// CRC32; the SDK would warn about each one.
		o.DisableValidateResponseChecksum = true
	}), nil
}
