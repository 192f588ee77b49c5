package devenv

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// keys renders a key schema as "name:TYPE" strings.
func keys(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return out
}

func TestCreateTable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client, err := testDB.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const name = "connections-create"
	if err := CreateTable(ctx, client, name); err != nil {
		t.Fatal(err)
	}
	if err := CreateTable(ctx, client, name); err != nil {
		t.Fatalf("CreateTable on an existing table: %v", err)
	}

	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := desc.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s, want ACTIVE", tbl.TableStatus)
	}
	if got, want := keys(tbl.KeySchema), []string{"pk:HASH"}; !slices.Equal(got, want) {
		t.Errorf("key schema = %v, want %v", got, want)
	}
	gsis := map[string]types.GlobalSecondaryIndexDescription{}
	for _, g := range tbl.GlobalSecondaryIndexes {
		gsis[aws.ToString(g.IndexName)] = g
	}
	if len(gsis) != 2 {
		t.Fatalf("GSIs = %v, want due and reauth", slices.Collect(maps.Keys(gsis)))
	}
	gsi := gsis["due"]
	if got, want := keys(gsi.KeySchema), []string{"due_shard:HASH", "next_refresh_at:RANGE"}; !slices.Equal(got, want) {
		t.Errorf("GSI due key schema = %v, want %v", got, want)
	}
	if gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
		t.Errorf("GSI due projection = %+v, want KEYS_ONLY", gsi.Projection)
	}
	// The sparse index of connections to re-authorize projects what a
	// listing shows, and no token.
	gsi = gsis["reauth"]
	if got, want := keys(gsi.KeySchema), []string{"status_key:HASH", "reauth_at:RANGE"}; !slices.Equal(got, want) {
		t.Errorf("GSI reauth key schema = %v, want %v", got, want)
	}
	if p := gsi.Projection; p == nil || p.ProjectionType != types.ProjectionTypeInclude ||
		!slices.Contains(p.NonKeyAttributes, "reauth_reason") || slices.Contains(p.NonKeyAttributes, "access_token") ||
		slices.Contains(p.NonKeyAttributes, "refresh_token") {
		t.Errorf("GSI reauth projection = %+v, want INCLUDE without tokens", gsi.Projection)
	}
	if bm := tbl.BillingModeSummary; bm != nil && bm.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %s, want PAY_PER_REQUEST", bm.BillingMode)
	}

	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" ||
		d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want ENABLED on ttl", d)
	}

	item := map[string]types.AttributeValue{
		"pk":              &types.AttributeValueMemberS{Value: "conn#1"},
		"due_shard":       &types.AttributeValueMemberS{Value: "3"},
		"next_refresh_at": &types.AttributeValueMemberN{Value: "1700000000"},
		"ttl":             &types.AttributeValueMemberN{Value: "1800000000"},
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(name),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := got.Item["due_shard"].(*types.AttributeValueMemberS); !ok || s.Value != "3" {
		t.Errorf("GetItem = %v, want due_shard 3", got.Item)
	}
}
