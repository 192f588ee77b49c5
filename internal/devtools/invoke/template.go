package invoke

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// serverlessFunction is the resource type of a SAM function.
const serverlessFunction = "AWS::Serverless::Function"

// Function is what template.yaml says about one function, its Globals
// merged in as SAM merges them.
type Function struct {
	LogicalID   string
	BuildMethod string // Metadata.BuildMethod ("makefile")
	Runtime     string
	Handler     string
	MemorySize  int // MB
	Timeout     int // seconds
	// Env holds the function's environment variables (Globals and its own)
	// with the value SAM would give them without overrides: a literal, the
	// Default of a parameter named by !Ref, else "" (an intrinsic that only
	// CloudFormation resolves).
	Env map[string]string
}

// EnvNames returns the names of the function's environment variables, sorted.
func (f *Function) EnvNames() []string {
	names := make([]string, 0, len(f.Env))
	for k := range f.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// TemplateFunction reads function logicalID from a SAM template.
func TemplateFunction(template []byte, logicalID string) (*Function, error) {
	root, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	res := mapGet(mapGet(root, "Resources"), logicalID)
	if res == nil {
		ids, _ := functionIDs(root)
		return nil, fmt.Errorf("template.yaml has no resource %q (its functions: %v)", logicalID, ids)
	}
	if t := scalar(mapGet(res, "Type")); t != serverlessFunction {
		return nil, fmt.Errorf("template.yaml resource %q is a %s, not an %s", logicalID, t, serverlessFunction)
	}
	params := mapGet(root, "Parameters")
	f := &Function{
		LogicalID:   logicalID,
		BuildMethod: scalar(mapGet(mapGet(res, "Metadata"), "BuildMethod")),
		MemorySize:  128, // Lambda's defaults
		Timeout:     3,
		Env:         map[string]string{},
	}
	// Globals first, then the function's own properties.
	for _, props := range []*yaml.Node{mapGet(mapGet(root, "Globals"), "Function"), mapGet(res, "Properties")} {
		if v := scalar(mapGet(props, "Runtime")); v != "" {
			f.Runtime = v
		}
		if v := scalar(mapGet(props, "Handler")); v != "" {
			f.Handler = v
		}
		for name, dst := range map[string]*int{"MemorySize": &f.MemorySize, "Timeout": &f.Timeout} {
			if n := mapGet(props, name); n != nil {
				v, err := strconv.Atoi(scalar(n))
				if err != nil {
					return nil, fmt.Errorf("template.yaml: %s of %s is not a number", name, logicalID)
				}
				*dst = v
			}
		}
		vars := mapGet(mapGet(props, "Environment"), "Variables")
		if vars != nil && vars.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(vars.Content); i += 2 {
				f.Env[vars.Content[i].Value] = defaultValue(vars.Content[i+1], params)
			}
		}
	}
	return f, nil
}

// TemplateFunctionIDs returns the logical ids of the template's functions, sorted.
func TemplateFunctionIDs(template []byte) ([]string, error) {
	root, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	return functionIDs(root)
}

func functionIDs(root *yaml.Node) ([]string, error) {
	res := mapGet(root, "Resources")
	if res == nil || res.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template.yaml has no Resources")
	}
	var ids []string
	for i := 0; i+1 < len(res.Content); i += 2 {
		if scalar(mapGet(res.Content[i+1], "Type")) == serverlessFunction {
			ids = append(ids, res.Content[i].Value)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// parseTemplate decodes a template into nodes, which keeps CloudFormation's
// short tags (!Ref, !Sub, ...) as tags instead of failing on them.
func parseTemplate(template []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("parsing template.yaml: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template.yaml is not a YAML mapping")
	}
	return doc.Content[0], nil
}

// defaultValue is the value SAM gives a variable without overrides: a plain
// scalar as is, !Ref of a parameter its Default, anything else "".
func defaultValue(n *yaml.Node, params *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	switch {
	case n.Tag == "!Ref":
		return scalar(mapGet(mapGet(params, n.Value), "Default"))
	case strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"):
		return "" // another intrinsic function
	}
	return n.Value
}

// mapGet returns the value of key in mapping n, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
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

// scalar returns the value of a scalar node, or "".
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
