package devenv

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// tableResourceType is the CloudFormation type of a DynamoDB table.
const tableResourceType = "AWS::DynamoDB::Table"

// samTemplate is the part of a SAM/CloudFormation template devenv reads.
// Properties stay raw YAML nodes so that resources using intrinsic-function
// short tags (!Ref, !Sub, !GetAtt...) never need to be decoded.
type samTemplate struct {
	Resources map[string]struct {
		Type       string    `yaml:"Type"`
		Properties yaml.Node `yaml:"Properties"`
	} `yaml:"Resources"`
}

// tableProperties are the Properties of an AWS::DynamoDB::Table that matter
// locally. Other properties (TableName, SSESpecification, Tags...) are not
// decoded, so they may use intrinsic functions.
type tableProperties struct {
	BillingMode            string                 `yaml:"BillingMode"`
	AttributeDefinitions   []attributeDefinition  `yaml:"AttributeDefinitions"`
	KeySchema              []keySchemaElement     `yaml:"KeySchema"`
	GlobalSecondaryIndexes []secondaryIndex       `yaml:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  []secondaryIndex       `yaml:"LocalSecondaryIndexes"`
	ProvisionedThroughput  *provisionedThroughput `yaml:"ProvisionedThroughput"`
	StreamSpecification    *struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
	TimeToLiveSpecification *struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
}

type attributeDefinition struct {
	AttributeName string `yaml:"AttributeName"`
	AttributeType string `yaml:"AttributeType"`
}

type keySchemaElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

type secondaryIndex struct {
	IndexName  string             `yaml:"IndexName"`
	KeySchema  []keySchemaElement `yaml:"KeySchema"`
	Projection struct {
		ProjectionType   string   `yaml:"ProjectionType"`
		NonKeyAttributes []string `yaml:"NonKeyAttributes"`
	} `yaml:"Projection"`
	ProvisionedThroughput *provisionedThroughput `yaml:"ProvisionedThroughput"`
}

type provisionedThroughput struct {
	ReadCapacityUnits  int64 `yaml:"ReadCapacityUnits"`
	WriteCapacityUnits int64 `yaml:"WriteCapacityUnits"`
}

// parseTableProperties finds resource logicalID in template, checks it is a
// DynamoDB table and decodes its Properties.
func parseTableProperties(template []byte, logicalID string) (*tableProperties, error) {
	var t samTemplate
	if err := yaml.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("devenv: parsing template: %w", err)
	}
	res, ok := t.Resources[logicalID]
	if !ok {
		return nil, fmt.Errorf("devenv: template has no resource %q", logicalID)
	}
	if res.Type != tableResourceType {
		return nil, fmt.Errorf("devenv: template resource %q has Type %q, want %q",
			logicalID, res.Type, tableResourceType)
	}
	var p tableProperties
	if res.Properties.Kind != 0 {
		if err := res.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("devenv: decoding Properties of template resource %q: %w", logicalID, err)
		}
	}
	if len(p.KeySchema) == 0 || len(p.AttributeDefinitions) == 0 {
		return nil, fmt.Errorf("devenv: template resource %q needs KeySchema and AttributeDefinitions", logicalID)
	}
	return &p, nil
}
