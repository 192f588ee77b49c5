package devenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDefinition builds the CreateTable request for the AWS::DynamoDB::Table
// resource logicalID of a SAM/CloudFormation template: AttributeDefinitions,
// KeySchema, GlobalSecondaryIndexes and LocalSecondaryIndexes (with their
// Projection), BillingMode, ProvisionedThroughput and StreamSpecification.
// TableName is left nil for the caller to set. Other resources, and table
// properties not listed here, may use intrinsic-function short tags.
func TableDefinition(template []byte, logicalID string) (*dynamodb.CreateTableInput, error) {
	p, err := parseTableProperties(template, logicalID)
	if err != nil {
		return nil, err
	}
	return createTableInput(p), nil
}

// createTableInput converts decoded table properties to a CreateTable
// request without TableName.
func createTableInput(p *tableProperties) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		AttributeDefinitions:  attributeDefinitions(p.AttributeDefinitions),
		KeySchema:             keySchema(p.KeySchema),
		ProvisionedThroughput: throughput(p.ProvisionedThroughput),
	}
	if p.BillingMode != "" {
		in.BillingMode = types.BillingMode(p.BillingMode)
	}
	for _, gsi := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:             aws.String(gsi.IndexName),
			KeySchema:             keySchema(gsi.KeySchema),
			Projection:            projection(gsi),
			ProvisionedThroughput: throughput(gsi.ProvisionedThroughput),
		})
	}
	for _, lsi := range p.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(lsi.IndexName),
			KeySchema:  keySchema(lsi.KeySchema),
			Projection: projection(lsi),
		})
	}
	if s := p.StreamSpecification; s != nil && s.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(s.StreamViewType),
		}
	}
	return in
}

// timeToLive returns the table's TimeToLiveSpecification, or nil if it has
// none.
func timeToLive(p *tableProperties) *types.TimeToLiveSpecification {
	if p.TimeToLiveSpecification == nil {
		return nil
	}
	return &types.TimeToLiveSpecification{
		AttributeName: aws.String(p.TimeToLiveSpecification.AttributeName),
		Enabled:       aws.Bool(p.TimeToLiveSpecification.Enabled),
	}
}

func attributeDefinitions(defs []attributeDefinition) []types.AttributeDefinition {
	out := make([]types.AttributeDefinition, 0, len(defs))
	for _, d := range defs {
		out = append(out, types.AttributeDefinition{
			AttributeName: aws.String(d.AttributeName),
			AttributeType: types.ScalarAttributeType(d.AttributeType),
		})
	}
	return out
}

func keySchema(keys []keySchemaElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       types.KeyType(k.KeyType),
		})
	}
	return out
}

func projection(idx secondaryIndex) *types.Projection {
	return &types.Projection{
		ProjectionType:   types.ProjectionType(idx.Projection.ProjectionType),
		NonKeyAttributes: idx.Projection.NonKeyAttributes,
	}
}

func throughput(t *provisionedThroughput) *types.ProvisionedThroughput {
	if t == nil {
		return nil
	}
	return &types.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(t.ReadCapacityUnits),
		WriteCapacityUnits: aws.Int64(t.WriteCapacityUnits),
	}
}
