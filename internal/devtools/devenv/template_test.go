package devenv

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector"
)

// taggedTemplate uses intrinsic-function short tags everywhere except in the
// table properties that TableDefinition decodes.
const taggedTemplate = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
Resources:
  AuthorizeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Sub "${AWS::StackName}/authorize"
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
      Environment:
        Variables:
          TABLE_ARN: !GetAtt Table.Arn
          STREAM: !GetAtt [Table, StreamArn]
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-connections"
      BillingMode: PROVISIONED
      ProvisionedThroughput:
        ReadCapacityUnits: 5
        WriteCapacityUnits: 2
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
        - AttributeName: sk
          AttributeType: N
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
      GlobalSecondaryIndexes:
        - IndexName: by_sk
          KeySchema:
            - AttributeName: sk
              KeyType: HASH
          Projection:
            ProjectionType: INCLUDE
            NonKeyAttributes: [a, b]
          ProvisionedThroughput:
            ReadCapacityUnits: 1
            WriteCapacityUnits: 1
      StreamSpecification:
        StreamViewType: NEW_IMAGE
      SSESpecification:
        SSEEnabled: !If [IsProd, true, false]
      Tags:
        - Key: stage
          Value: !Ref Stage
Outputs:
  TableName:
    Value: !Ref Table
    Export:
      Name: !Sub "${AWS::StackName}-table"
`

func TestTableDefinitionWithShortTags(t *testing.T) {
	in, err := TableDefinition([]byte(taggedTemplate), "Table")
	if err != nil {
		t.Fatal(err)
	}
	if in.TableName != nil {
		t.Errorf("TableName = %q, want nil", aws.ToString(in.TableName))
	}
	if in.BillingMode != types.BillingModeProvisioned {
		t.Errorf("BillingMode = %q", in.BillingMode)
	}
	if pt := in.ProvisionedThroughput; pt == nil || aws.ToInt64(pt.ReadCapacityUnits) != 5 || aws.ToInt64(pt.WriteCapacityUnits) != 2 {
		t.Errorf("ProvisionedThroughput = %+v", pt)
	}
	if len(in.AttributeDefinitions) != 2 || aws.ToString(in.AttributeDefinitions[1].AttributeName) != "sk" ||
		in.AttributeDefinitions[1].AttributeType != types.ScalarAttributeTypeN {
		t.Errorf("AttributeDefinitions = %+v", in.AttributeDefinitions)
	}
	if got := keys(in.KeySchema); !slices.Equal(got, []string{"pk:HASH"}) {
		t.Errorf("KeySchema = %v", got)
	}
	if len(in.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("GlobalSecondaryIndexes = %+v", in.GlobalSecondaryIndexes)
	}
	gsi := in.GlobalSecondaryIndexes[0]
	if aws.ToString(gsi.IndexName) != "by_sk" || !slices.Equal(keys(gsi.KeySchema), []string{"sk:HASH"}) {
		t.Errorf("GSI = %s %v", aws.ToString(gsi.IndexName), keys(gsi.KeySchema))
	}
	if gsi.Projection.ProjectionType != types.ProjectionTypeInclude || !slices.Equal(gsi.Projection.NonKeyAttributes, []string{"a", "b"}) {
		t.Errorf("GSI projection = %+v", gsi.Projection)
	}
	if gsi.ProvisionedThroughput == nil || aws.ToInt64(gsi.ProvisionedThroughput.ReadCapacityUnits) != 1 {
		t.Errorf("GSI throughput = %+v", gsi.ProvisionedThroughput)
	}
	if s := in.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewImage {
		t.Errorf("StreamSpecification = %+v", s)
	}
}

func TestTableDefinitionRealTemplate(t *testing.T) {
	in, err := TableDefinition(gotoconnector.Template, ConnectionsTableID)
	if err != nil {
		t.Fatal(err)
	}
	if in.BillingMode != types.BillingModePayPerRequest || in.ProvisionedThroughput != nil {
		t.Errorf("BillingMode = %q, ProvisionedThroughput = %+v", in.BillingMode, in.ProvisionedThroughput)
	}
	var names []string
	for _, g := range in.GlobalSecondaryIndexes {
		names = append(names, aws.ToString(g.IndexName))
	}
	if !slices.Equal(names, []string{"due", "reauth"}) {
		t.Errorf("GlobalSecondaryIndexes %v, want due and reauth", names)
	}
}

func TestTableDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, logicalID, want string
	}{
		{"missing resource", "Nope", `no resource "Nope"`},
		{"wrong type", "AuthorizeFunction", `has Type "AWS::Serverless::Function", want "AWS::DynamoDB::Table"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TableDefinition([]byte(taggedTemplate), tc.logicalID)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %s", err, tc.want)
			}
		})
	}

	_, err := TableDefinition([]byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"), "T")
	if err == nil || !strings.Contains(err.Error(), "needs KeySchema") {
		t.Errorf("no properties: err = %v", err)
	}
	_, err = TableDefinition([]byte("Resources: [\n"), "T")
	if err == nil || !strings.Contains(err.Error(), "parsing template") {
		t.Errorf("bad YAML: err = %v", err)
	}
}
