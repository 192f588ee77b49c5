package e2e_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gotoconnector/gotoconnector"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// TestLeastPrivilege drives every path of every function through the real
// bootstraps, records each AWS API call each one makes (a recording proxy
// in front of each of its endpoints), and compares them with the
// function's policy in template.yaml: a call the policy lacks would fail
// only once deployed; a grant never used, or a wildcard, is more than the
// function needs. It then shows the comparison bites on this very run: a
// policy widened by one action, and one narrowed by an action the
// function uses, are both reported.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	// Under KMS (local-kms), as deployed: the KMS grants are proved too.
	k := testutil.KMS(t)
	s := startStack(t, map[string]string{"AWS_ENDPOINT_URL_KMS": k.Endpoint(), "TOKEN_KMS_KEY_ID": k.KeyARN()})
	const id = "lp-customer"

	// authorize: a forged link (refused before any call but the link secret),
	// then a good one (a pending state stored).
	link, err := gotoauth.SignLink("https://"+apiDomain+"/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: time.Now().Add(15 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	forged := strings.Replace(u.RawQuery, "connection_id="+id, "connection_id=other", 1)
	if r := s.http("AuthorizeFunction", httpEvent("GET /authorize", forged)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged link: %d", r.StatusCode)
	}
	r := s.http("AuthorizeFunction", httpEvent("GET /authorize", u.RawQuery))
	if r.StatusCode != http.StatusFound || len(r.Cookies) != 1 {
		t.Fatalf("authorize: %d %v", r.StatusCode, r.Cookies)
	}
	c, _ := http.ParseSetCookie(r.Cookies[0])
	back, err := s.goTo.Approve(r.Headers["Location"])
	if err != nil {
		t.Fatal(err)
	}

	// callback: another browser's cookie (the pending state is read to
	// say why), the real one (consumed, exchanged, stored), a replay.
	if r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"=forged-binding-value-0123456789")); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged cookie: %d", r.StatusCode)
	}
	if r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"="+c.Value)); r.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", r.StatusCode, r.Body)
	}
	if r := s.http("CallbackFunction", httpEvent("GET /callback", back.RawQuery, c.Name+"="+c.Value)); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay: %d", r.StatusCode)
	}

	// refresh: a forced refresh, one that is not needed (the lease is
	// refused, and the connection read to say why) and a scheduled sweep.
	if sum := s.refresh(map[string]any{"connection_ids": []string{id}, "force": true}); sum.Refreshed != 1 {
		t.Fatalf("forced refresh: %+v", sum)
	}
	if sum := s.refresh(map[string]any{"connection_ids": []string{id}}); sum.Skipped != 1 {
		t.Fatalf("refresh of a fresh connection: %+v", sum)
	}
	s.refresh(scheduledEvent())

	// connections: status (a read), a token that needs a refresh (through
	// the lease), the reauth listing (its index) once the refresh function
	// found the grant dead (an event), and a disconnect (a delete, an event).
	if status, _ := s.api("GET /connections/{connection_id}", id, ""); status != http.StatusOK {
		t.Fatalf("GET connection: %d", status)
	}
	s.expireAccessTokenIn(id, time.Minute)
	if tok := s.token(id, ""); tok["access_token"] == nil {
		t.Fatalf("token: %v", tok)
	}
	s.goTo.FailAlways(gototest.OAuthError(400, "invalid_grant", "revoked"))
	if sum := s.refresh(map[string]any{"connection_ids": []string{id}, "force": true}); sum.ReauthRequired != 1 {
		t.Fatalf("refresh of a dead grant: %+v", sum)
	}
	s.goTo.StopFailing()
	if status, body := s.api("GET /connections", "", "status=reauth_required"); status != http.StatusOK || len(body["connections"].([]any)) != 1 {
		t.Fatalf("list: %d %v", status, body)
	}
	if status, _ := s.api("DELETE /connections/{connection_id}", id, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}

	calls := functionCalls(s.aws)
	for fn, cs := range calls {
		t.Logf("%s called: %s", fn, describeCalls(cs))
	}
	for _, p := range privilegeProblems(gotoconnector.Template, calls, true) {
		t.Error(p)
	}

	// The comparison fails both ways on these very calls.
	widened := editPolicy(t, gotoconnector.Template, "AuthorizeFunction", func(actions *yaml.Node) {
		actions.Content = append(actions.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "dynamodb:Scan"})
	})
	if p := (privilegeProblems(widened, calls, true)); len(p) != 1 || !strings.Contains(p[0], "grants dynamodb:Scan on table, which it never used") {
		t.Errorf("a policy widened by dynamodb:Scan gives problems %q", p)
	}
	narrowed := editPolicy(t, gotoconnector.Template, "CallbackFunction", func(actions *yaml.Node) {
		actions.Content = removeScalar(actions.Content, "dynamodb:GetItem")
	})
	if p := (privilegeProblems(narrowed, calls, true)); len(p) != 1 || !strings.Contains(p[0], "calls dynamodb:GetItem on table, which its policy does not allow") {
		t.Errorf("a policy without dynamodb:GetItem gives problems %q", p)
	}
	// authorize given a KMS action, or the client secret's ARN, is more than
	// it needs; a function without the KMS action it calls would fail.
	kmsAuthorize := editStatement(t, gotoconnector.Template, "AuthorizeFunction", "secretsmanager:GetSecretValue", func(st *yaml.Node) {
		actions := mapValue(st, "Action")
		actions.Content = append(actions.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "kms:Decrypt"})
	})
	if p := privilegeProblems(kmsAuthorize, calls, true); !slices.ContainsFunc(p, func(s string) bool {
		return strings.Contains(s, "AuthorizeFunction: its policy grants kms:Decrypt")
	}) || slices.ContainsFunc(p, func(s string) bool { return !strings.HasPrefix(s, "AuthorizeFunction") }) {
		t.Errorf("authorize with kms:Decrypt gives problems %q", p)
	}
	// authorize reads the link secret alone: granted the client secret's
	// ARN as well, it has a grant it never uses.
	clientSecretAuthorize := editStatement(t, gotoconnector.Template, "AuthorizeFunction", "secretsmanager:GetSecretValue", func(st *yaml.Node) {
		res := mapValue(st, "Resource")
		clientSecret := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub",
			Value: "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${GoToSecretName}-??????"}
		*res = yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: res.Kind, Tag: res.Tag, Value: res.Value}, clientSecret}}
	})
	if p := privilegeProblems(clientSecretAuthorize, calls, true); len(p) != 1 ||
		!strings.Contains(p[0], "AuthorizeFunction: its policy grants secretsmanager:GetSecretValue on secret, which it never used") {
		t.Errorf("authorize granted the client secret gives problems %q", p)
	}
	// Nor does it read the client secret instead: a policy that names only
	// the client secret leaves its one read (the link secret) denied.
	onlyClientSecret := editStatement(t, gotoconnector.Template, "AuthorizeFunction", "secretsmanager:GetSecretValue", func(st *yaml.Node) {
		*mapValue(st, "Resource") = yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub",
			Value: "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${GoToSecretName}-??????"}
	})
	if p := privilegeProblems(onlyClientSecret, calls, true); !slices.ContainsFunc(p, func(s string) bool {
		return strings.Contains(s, "AuthorizeFunction calls secretsmanager:GetSecretValue on linksecret, which its policy does not allow")
	}) {
		t.Errorf("authorize granted only the client secret gives problems %q", p)
	}
	for _, fn := range []string{"CallbackFunction", "RefreshFunction", "ConnectionsFunction"} {
		noKMS := editStatement(t, gotoconnector.Template, fn, "kms:GenerateDataKey", func(st *yaml.Node) {
			actions := mapValue(st, "Action")
			actions.Content = removeScalar(actions.Content, "kms:GenerateDataKey")
			if len(actions.Content) == 0 {
				actions.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Value: "kms:DescribeKey"}}
			}
		})
		p := privilegeProblems(noKMS, calls, true)
		if !slices.ContainsFunc(p, func(s string) bool {
			return strings.Contains(s, fn+" calls kms:GenerateDataKey on key, which its policy does not allow")
		}) {
			t.Errorf("%s without kms:GenerateDataKey gives problems %q", fn, p)
		}
	}
}

// editStatement returns template with the statement of fn's policies that
// lists action edited.
func editStatement(t *testing.T, template []byte, fn, action string, edit func(stmt *yaml.Node)) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	pols := mapValue(mapValue(mapValue(mapValue(doc.Content[0], "Resources"), fn), "Properties"), "Policies")
	found := false
	for _, pol := range pols.Content {
		for _, st := range mapValue(pol, "Statement").Content {
			actions := mapValue(st, "Action")
			if actions != nil && slices.ContainsFunc(actions.Content, func(n *yaml.Node) bool { return n.Value == action }) {
				edit(st)
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("%s has no statement with %s", fn, action)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLeastPrivilegeCheck checks the comparison itself without running
// anything: calls that are exactly each function's grants pass; an added
// grant, a removed one, a wildcard and a foreign resource are reported.
func TestLeastPrivilegeCheck(t *testing.T) {
	grants, problems, err := functionGrants(gotoconnector.Template)
	if err != nil || len(problems) > 0 {
		t.Fatalf("reading the policies: %v %q", err, problems)
	}
	calls := map[string]map[awsCall]int{}
	for fn, gs := range grants {
		calls[fn] = map[awsCall]int{}
		for _, g := range gs {
			calls[fn][awsCall(g)] = 1
		}
	}
	if p := (privilegeProblems(gotoconnector.Template, calls, true)); len(p) != 0 {
		t.Fatalf("calls equal to the grants give problems %q", p)
	}
	wild := editPolicy(t, gotoconnector.Template, "RefreshFunction", func(actions *yaml.Node) {
		actions.Content = append(actions.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "dynamodb:*"})
	})
	if p := (privilegeProblems(wild, calls, true)); len(p) != 1 || !strings.Contains(p[0], "a wildcard") {
		t.Errorf("a wildcard gives %q", p)
	}
	foreign := map[string]map[awsCall]int{"AuthorizeFunction": {{Action: "dynamodb:PutItem", Resource: "other:another-table"}: 1}}
	if p := (privilegeProblems(gotoconnector.Template, foreign, false)); len(p) != 1 || !strings.Contains(p[0], "does not allow") {
		t.Errorf("a call on another table gives %q", p)
	}
}

// editPolicy returns template with fn's first policy statement's Action
// list changed by edit.
func editPolicy(t *testing.T, template []byte, fn string, edit func(actions *yaml.Node)) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	pols := mapValue(mapValue(mapValue(mapValue(doc.Content[0], "Resources"), fn), "Properties"), "Policies")
	if pols == nil || len(pols.Content) == 0 {
		t.Fatalf("%s has no Policies", fn)
	}
	stmts := mapValue(pols.Content[0], "Statement")
	actions := mapValue(stmts.Content[0], "Action")
	if actions.Kind == yaml.ScalarNode {
		*actions = yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: actions.Value}}}
	}
	edit(actions)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func removeScalar(nodes []*yaml.Node, v string) []*yaml.Node {
	var out []*yaml.Node
	for _, n := range nodes {
		if n.Value != v {
			out = append(out, n)
		}
	}
	return out
}
