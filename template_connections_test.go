package gotoconnector

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// resourcesByType returns the template's resources of type typ by logical id.
func resourcesByType(root *yaml.Node, typ string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	res := get(root, "Resources")
	for _, id := range mapKeys(res) {
		if r := get(res, id); value(get(r, "Type")) == typ {
			out[id] = r
		}
	}
	return out
}

// statements returns a function's policy statements as action -> resources
// (the scalar or tagged value of Resource, as written).
func statements(fn *yaml.Node) map[string][]string {
	out := map[string][]string{}
	pols := get(fn, "Properties", "Policies")
	if pols == nil {
		return out
	}
	for _, p := range pols.Content {
		st := get(p, "Statement")
		if st == nil {
			continue
		}
		for _, s := range st.Content {
			if value(get(s, "Effect")) != "Allow" {
				continue
			}
			res := get(s, "Resource")
			var resources []string
			if res != nil && res.Kind == yaml.SequenceNode {
				for _, r := range res.Content {
					resources = append(resources, r.Tag+" "+r.Value)
				}
			} else if res != nil {
				resources = append(resources, res.Tag+" "+res.Value)
			}
			acts := get(s, "Action")
			if acts == nil {
				continue
			}
			list := acts.Content
			if acts.Kind == yaml.ScalarNode {
				list = []*yaml.Node{acts}
			}
			for _, a := range list {
				out[a.Value] = append(out[a.Value], resources...)
			}
		}
	}
	return out
}

// The Connections API hands out tokens: each of its routes must require
// IAM (SigV4), and reach the connections function.
func TestConnectionsRoutesRequireIAM(t *testing.T) {
	root := templateRoot(t)
	want := []string{
		"GET /connections/{connection_id}", "GET /connections/{connection_id}/token",
		"DELETE /connections/{connection_id}", "GET /connections",
	}
	var found []string
	for id, r := range resourcesByType(root, "AWS::ApiGatewayV2::Route") {
		key := value(get(r, "Properties", "RouteKey"))
		_, path, _ := strings.Cut(key, " ")
		if !strings.HasPrefix(path, "/connections") {
			if auth := value(get(r, "Properties", "AuthorizationType")); auth == "AWS_IAM" {
				t.Errorf("%s (%s): the public connect flow must not require IAM", id, key)
			}
			continue
		}
		found = append(found, key)
		if auth := value(get(r, "Properties", "AuthorizationType")); auth != "AWS_IAM" {
			t.Errorf("%s (%s): AuthorizationType %q, want AWS_IAM", id, key, auth)
		}
		if target := value(get(r, "Properties", "Target")); target != "integrations/${ConnectionsIntegration}" {
			t.Errorf("%s (%s): Target %q, want the connections integration", id, key, target)
		}
	}
	slices.Sort(found)
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Errorf("/connections routes %v, want exactly %v", found, want)
	}
	integ := get(root, "Resources", "ConnectionsIntegration", "Properties")
	if value(get(integ, "IntegrationUri")) != "ConnectionsFunction.Arn" || value(get(integ, "PayloadFormatVersion")) != "2.0" {
		t.Error("ConnectionsIntegration must proxy to ConnectionsFunction with payload format 2.0")
	}
	perm := get(root, "Resources", "ConnectionsPermission", "Properties")
	if value(get(perm, "FunctionName")) != "ConnectionsFunction" || !strings.HasSuffix(value(get(perm, "SourceArn")), "${HttpApi}/*/*/connections*") {
		t.Error("ConnectionsPermission must let this API's /connections routes invoke ConnectionsFunction")
	}
	if out := value(get(root, "Outputs", "ConnectionsApiUrl", "Value")); !strings.Contains(out, "${HttpApi}.execute-api.") {
		t.Errorf("output ConnectionsApiUrl = %q, want the API's base URL", out)
	}
}

// Least privilege: the connections function reads, updates and deletes
// connection items, queries the reauth index only, reads the secret and
// publishes to the named bus; every function that publishes may put events
// on that bus, and nowhere else.
func TestConnectionsPermissions(t *testing.T) {
	root := templateRoot(t)
	fns := templateFunctions(t, root)
	table := "!GetAtt ConnectionsTable.Arn"
	bus := `!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}`
	got := statements(fns["ConnectionsFunction"])
	// The token key: the stack's, or TokenKmsKeyArn (as statements renders an !If).
	tokenKey := []string{"!!str CreateTokenKey", "!GetAtt TokenKey.Arn", "!Ref TokenKmsKeyArn"}
	for action, want := range map[string][]string{
		"dynamodb:GetItem":              {table},
		"dynamodb:UpdateItem":           {table},
		"dynamodb:DeleteItem":           {table},
		"dynamodb:Query":                {"!Sub ${ConnectionsTable.Arn}/index/reauth"},
		"secretsmanager:GetSecretValue": {"!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${GoToSecretName}-??????"},
		"events:PutEvents":              {bus},
		"kms:Decrypt":                   tokenKey,
		"kms:GenerateDataKey":           tokenKey,
	} {
		if !slices.Equal(got[action], want) {
			t.Errorf("ConnectionsFunction %s on %v, want %v", action, got[action], want)
		}
	}
	if len(got) != 8 {
		t.Errorf("ConnectionsFunction may do %d actions, want exactly 8: %v", len(got), got)
	}
	for _, id := range []string{"CallbackFunction", "RefreshFunction", "ConnectionsFunction"} {
		if st := statements(fns[id]); !slices.Equal(st["events:PutEvents"], []string{bus}) {
			t.Errorf("%s: events:PutEvents on %v, want only the EventBusName bus", id, st["events:PutEvents"])
		}
	}
	if st := statements(fns["AuthorizeFunction"]); st["events:PutEvents"] != nil {
		t.Error("AuthorizeFunction publishes nothing and needs no events:PutEvents")
	}
	p := get(root, "Parameters", "EventBusName")
	if value(get(p, "Default")) != "default" {
		t.Error("parameter EventBusName must default to default")
	}
	if v := get(root, "Globals", "Function", "Environment", "Variables", "EVENT_BUS_NAME"); v == nil || v.Tag != "!Ref" || v.Value != "EventBusName" {
		t.Error("Globals EVENT_BUS_NAME must be !Ref EventBusName")
	}
}
