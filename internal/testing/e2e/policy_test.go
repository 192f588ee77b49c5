package e2e_test

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// grant is one action on one resource that a function's policy in
// template.yaml allows, with the resource named as awsCall names it.
type grant struct {
	Action   string
	Resource string
}

// functionGrants reads the Policies of every AWS::Serverless::Function in
// a SAM template. Only inline statements are understood (Effect Allow,
// Action and Resource as a string or a list); a managed policy, a SAM
// policy template or a Deny is reported as a problem, since what it allows
// cannot be compared with what the function calls.
func functionGrants(template []byte) (map[string][]grant, []string, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Policies yaml.Node `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, nil, err
	}
	types := map[string]string{}
	for id, r := range doc.Resources {
		types[id] = r.Type
	}
	grants := map[string][]grant{}
	var problems []string
	for id, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		grants[id] = nil
		pol := r.Properties.Policies
		if pol.Kind == 0 {
			continue
		}
		if pol.Kind != yaml.SequenceNode {
			problems = append(problems, id+": Policies is not a list of inline statements")
			continue
		}
		for _, p := range pol.Content {
			stmts := mapValue(p, "Statement")
			if stmts == nil || stmts.Kind != yaml.SequenceNode {
				problems = append(problems, fmt.Sprintf("%s: a policy that is not an inline Statement list (line %d): compare it by hand or make it one", id, p.Line))
				continue
			}
			for _, st := range stmts.Content {
				if e := mapValue(st, "Effect"); e == nil || e.Value != "Allow" {
					problems = append(problems, fmt.Sprintf("%s: a statement that is not Effect: Allow (line %d)", id, st.Line))
					continue
				}
				resources := listValues(mapValue(st, "Resource"))
				if r := mapValue(st, "Resource"); r != nil && r.Tag == "!If" {
					resources = []*yaml.Node{r} // one resource, chosen by a condition
				}
				if strings.HasPrefix(kmsAction(st), "kms:") && !hasTableContext(st) {
					problems = append(problems, fmt.Sprintf("%s: a KMS statement without the encryption-context condition (line %d)", id, st.Line))
				}
				for _, a := range listValues(mapValue(st, "Action")) {
					for _, res := range resources {
						grants[id] = append(grants[id], grant{Action: a.Value, Resource: resourceName(res, types)})
					}
				}
			}
		}
	}
	return grants, problems, nil
}

// resourceName names a policy's Resource the way awsCall names resources.
func resourceName(n *yaml.Node, types map[string]string) string {
	v := n.Value
	switch n.Tag {
	case "!GetAtt":
		id, attr, _ := strings.Cut(v, ".")
		if attr == "Arn" {
			switch types[id] {
			case "AWS::DynamoDB::Table":
				return "table"
			case "AWS::Events::EventBus":
				return "bus"
			}
		}
	case "!Ref":
		if types[v] == "AWS::SecretsManager::Secret" && v == "LinkSecret" {
			return "linksecret"
		}
	case "!Sub":
		for id, typ := range types {
			if typ == "AWS::DynamoDB::Table" && strings.HasPrefix(v, "${"+id+".Arn}") {
				return "table" + strings.TrimPrefix(v, "${"+id+".Arn}")
			}
		}
		switch {
		case strings.Contains(v, ":secret:${GoToSecretName}"):
			return "secret"
		case strings.Contains(v, ":event-bus/"):
			return "bus"
		}
	}
	// The token key: the stack's own, or the one TokenKmsKeyArn names.
	if n.Tag == "!If" && len(n.Content) == 3 && n.Content[1].Tag == "!GetAtt" &&
		types[strings.TrimSuffix(n.Content[1].Value, ".Arn")] == "AWS::KMS::Key" &&
		n.Content[2].Tag == "!Ref" && n.Content[2].Value == "TokenKmsKeyArn" {
		return "key"
	}
	if v == "*" {
		return "*"
	}
	return "unrecognised(" + n.Tag + " " + v + ")"
}

// privilegeProblems compares the calls each function made with its policy:
// a call no statement allows would fail once deployed; with complete set
// (the calls come from a run that drove every path of every function), a
// grant no call used, a wildcard action or resource, and a function that
// made no call are more than the function needs.
func privilegeProblems(template []byte, calls map[string]map[awsCall]int, complete bool) []string {
	grants, problems, err := functionGrants(template)
	if err != nil {
		return []string{err.Error()}
	}
	for fn, cs := range calls {
		gs, ok := grants[fn]
		if !ok {
			problems = append(problems, fn+": not a function of template.yaml")
			continue
		}
		for c := range cs {
			if !allowed(gs, c) {
				problems = append(problems, fmt.Sprintf("%s calls %s, which its policy does not allow: it would fail once deployed", fn, c))
			}
		}
	}
	if complete {
		for fn, gs := range grants {
			cs, ran := calls[fn]
			if !ran {
				problems = append(problems, fn+": not run by this test, so its policy is not checked: drive it here")
				continue
			}
			for _, g := range gs {
				if strings.Contains(g.Action, "*") || strings.Contains(g.Resource, "*") {
					problems = append(problems, fmt.Sprintf("%s: its policy grants %s on %s, a wildcard", fn, g.Action, g.Resource))
					continue
				}
				if cs[awsCall(g)] == 0 {
					problems = append(problems, fmt.Sprintf("%s: its policy grants %s on %s, which it never used (calls: %s)", fn, g.Action, g.Resource, describeCalls(cs)))
				}
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// allowed reports whether a grant covers c (IAM's * wildcards included).
func allowed(gs []grant, c awsCall) bool {
	for _, g := range gs {
		actionOK, _ := path.Match(strings.ToLower(g.Action), strings.ToLower(c.Action))
		resourceOK := g.Resource == "*" || g.Resource == c.Resource
		if m, _ := path.Match(g.Resource, c.Resource); m {
			resourceOK = true
		}
		if actionOK && resourceOK {
			return true
		}
	}
	return false
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// listValues returns the scalars of a scalar-or-list node.
func listValues(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	default:
		return []*yaml.Node{n}
	}
}

// kmsAction is the statement's first kms: action, "" when it has none.
func kmsAction(st *yaml.Node) string {
	for _, a := range listValues(mapValue(st, "Action")) {
		if strings.HasPrefix(a.Value, "kms:") {
			return a.Value
		}
	}
	return ""
}

// hasTableContext reports whether the statement allows only the stack's
// encryption context (service gotoconnector, the table's name).
func hasTableContext(st *yaml.Node) bool {
	eq := mapValue(mapValue(st, "Condition"), "StringEquals")
	svc, table := mapValue(eq, "kms:EncryptionContext:service"), mapValue(eq, "kms:EncryptionContext:table")
	return svc != nil && svc.Value == "gotoconnector" && table != nil && table.Tag == "!Ref" && table.Value == "ConnectionsTable"
}
