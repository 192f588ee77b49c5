package gotoconnector

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gotoconnector/gotoconnector/internal/service/config"
)

// The template is checked as YAML nodes: CloudFormation's short tags
// (!Ref, !Sub, !GetAtt, !If) stay tags instead of failing the decoding.

func templateRoot(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(Template, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml is not a mapping")
	}
	return doc.Content[0]
}

// get follows a path of mapping keys; nil when a key is missing.
func get(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func value(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// mapKeys returns a mapping's keys in order.
func mapKeys(n *yaml.Node) []string {
	var keys []string
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
	}
	return keys
}

// templateFunctions returns the AWS::Serverless::Function resources by
// logical id.
func templateFunctions(t *testing.T, root *yaml.Node) map[string]*yaml.Node {
	t.Helper()
	fns := map[string]*yaml.Node{}
	res := get(root, "Resources")
	for _, id := range mapKeys(res) {
		if r := get(res, id); value(get(r, "Type")) == "AWS::Serverless::Function" {
			fns[id] = r
		}
	}
	if len(fns) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	return fns
}

// functionEnv returns the names of a function's environment variables:
// Globals and its own.
func functionEnv(root, fn *yaml.Node) []string {
	names := mapKeys(get(root, "Globals", "Function", "Environment", "Variables"))
	names = append(names, mapKeys(get(fn, "Properties", "Environment", "Variables"))...)
	slices.Sort(names)
	return slices.Compact(names)
}

// makeVars reads the Makefile's simple variable definitions (NAME := v,
// NAME ?= v, NAME = v), the values a plain `make` run uses.
func makeVars(makefile string) map[string]string {
	vars := map[string]string{}
	def := regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?::=|\?=|=)\s*(.*)$`)
	for _, line := range strings.Split(makefile, "\n") {
		if m := def.FindStringSubmatch(line); m != nil {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return vars
}

// expand replaces $(NAME) by the variable's value, recursively; unknown
// variables stay as they are.
func expand(s string, vars map[string]string) string {
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for range 10 {
		next := ref.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := vars[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
		if next == s {
			break
		}
		s = next
	}
	return s
}

// recipe returns the recipe lines of target in the Makefile.
func recipe(makefile, target string) ([]string, bool) {
	var lines []string
	found := false
	for _, line := range strings.Split(makefile, "\n") {
		if found {
			if !strings.HasPrefix(line, "\t") {
				break
			}
			lines = append(lines, strings.TrimSpace(line))
			continue
		}
		if name, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == target && !strings.HasPrefix(line, "\t") &&
			!strings.HasPrefix(line, ".PHONY") {
			found = true
		}
	}
	return lines, found
}

// goArch maps a Lambda architecture to GOARCH.
var goArch = map[string]string{"arm64": "arm64", "x86_64": "amd64"}

// buildProblems checks that sam build can build every function of the
// template with the Makefile, as the deployment needs it built.
func buildProblems(t *testing.T, root *yaml.Node, makefile string) []string {
	t.Helper()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	vars := makeVars(makefile)
	var arch string
	if a := get(root, "Globals", "Function", "Architectures"); a != nil && len(a.Content) == 1 {
		arch = value(a.Content[0])
	}
	if goArch[arch] == "" {
		report("Globals Architectures must be [arm64] or [x86_64], not %q", arch)
	}
	for id, fn := range templateFunctions(t, root) {
		if bm := value(get(fn, "Metadata", "BuildMethod")); bm != "makefile" {
			report("%s: Metadata.BuildMethod = %q, want makefile", id, bm)
		}
		name, ok := strings.CutSuffix(id, "Function")
		if !ok {
			report("%s: a function's logical id must end in Function", id)
			continue
		}
		pkg := "./functions/" + strings.ToLower(name)
		if _, err := os.Stat(filepath.Join(pkg, "main.go")); err != nil {
			report("%s: %v", id, err)
		}
		lines, ok := recipe(makefile, "build-"+id)
		if !ok {
			report("the Makefile has no target build-%s (sam build runs it for BuildMethod makefile)", id)
			continue
		}
		var build string
		for _, l := range lines {
			if e := expand(l, vars); strings.Contains(e, "go build") {
				build = e
			}
		}
		if build == "" || !slices.Contains(strings.Fields(build), pkg) || !strings.Contains(build, "-o $(ARTIFACTS_DIR)/bootstrap") {
			report("build-%s must go build %s into $(ARTIFACTS_DIR)/bootstrap; its recipe is %q (expanded %q)", id, pkg, lines, build)
			continue
		}
		// What sam build must produce: a static Linux binary for the
		// template's architecture, without RPC support, paths or symbols.
		for _, want := range []string{
			"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goArch[arch],
			"-tags lambda.norpc", "-trimpath", `-ldflags="-s -w"`,
		} {
			if !strings.Contains(build, want) {
				report("build-%s: %q lacks %s", id, build, want)
			}
		}
	}
	return problems
}

func TestTemplateFunctionsBuildWithTheMakefile(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range buildProblems(t, templateRoot(t), string(mk)) {
		t.Error(p)
	}
}

// The check above catches a Makefile that builds differently.
func TestBuildCheckCatchesDrift(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	root := templateRoot(t)
	for name, edit := range map[string]func(string) string{
		"no -trimpath": func(s string) string { return strings.Replace(s, "-trimpath", "", 1) },
		"amd64": func(s string) string {
			return regexp.MustCompile(`(?m)^LAMBDA_GOARCH.*$`).ReplaceAllString(s, "LAMBDA_GOARCH ?= amd64")
		},
		"no target":       func(s string) string { return strings.Replace(s, "build-RefreshFunction:", "build-Refresh:", 1) },
		"another package": func(s string) string { return strings.Replace(s, "./functions/callback", "./functions/authorize", 1) },
		"another artifact": func(s string) string {
			return strings.Replace(s, "$(ARTIFACTS_DIR)/bootstrap", "$(ARTIFACTS_DIR)/main", 1)
		},
	} {
		edited := edit(string(mk))
		if edited == string(mk) {
			t.Errorf("%s: the edit changed nothing", name)
			continue
		}
		if len(buildProblems(t, root, edited)) == 0 {
			t.Errorf("%s: not detected", name)
		}
	}
}

func TestTemplateRuntime(t *testing.T) {
	root := templateRoot(t)
	g := get(root, "Globals", "Function")
	if v := value(get(g, "Runtime")); v != "provided.al2023" {
		t.Errorf("Globals Runtime = %q, want provided.al2023", v)
	}
	if v := value(get(g, "Handler")); v != "bootstrap" {
		t.Errorf("Globals Handler = %q, want bootstrap", v)
	}
	if a := get(g, "Architectures"); a == nil || a.Kind != yaml.SequenceNode || len(a.Content) != 1 || value(a.Content[0]) != "arm64" {
		t.Errorf("Globals Architectures must be [arm64]")
	}
	for id, fn := range templateFunctions(t, root) {
		for _, k := range []string{"Runtime", "Handler", "Architectures", "CodeUri"} {
			if get(fn, "Properties", k) != nil {
				t.Errorf("%s overrides Globals %s", id, k)
			}
		}
	}
}

// configVariables returns the environment variables internal/config reads:
// the upper-case string literals its code passes as first argument to a
// call (getenv("X"), required("X"), duration("X", ...), ...).
func configVariables(t *testing.T) []string {
	t.Helper()
	name := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	var names []string
	for _, f := range parseSources(t, "internal/service/config") {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) {
					names = append(names, s)
				}
			}
			return true
		})
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// localOnly are the variables config reads for local development only;
// secrets never go into the template.
var localOnly = []string{"GOTO_CLIENT_SECRET", "GOTO_LINK_SIGNING_KEY"}

func TestTemplateEnvironmentIsTheConfiguration(t *testing.T) {
	root := templateRoot(t)
	read := configVariables(t)
	// The list DESIGN.md documents, to catch a derivation gone wrong.
	documented := []string{
		"ACCESS_TOKEN_REFRESH_AHEAD", "ALLOWED_RETURN_ORIGINS", "EVENT_BUS_NAME", "GOTO_AUTHORIZE_URL", "GOTO_CLIENT_ID",
		"GOTO_CLIENT_SECRET", "GOTO_LINK_SIGNING_KEY", "GOTO_REDIRECT_URI", "GOTO_REVOKE_URL", "GOTO_SECRET_ID", "GOTO_TOKEN_URL",
		"LINK_SECRET_ID", "PKCE", "REFRESH_INTERVAL", "REFRESH_RATE_LIMIT", "REFRESH_SAFETY_MARGIN", "REFRESH_TOKEN_LIFETIME", "TABLE_NAME", "TOKEN_KMS_KEY_ID",
	}
	if !slices.Equal(read, documented) {
		t.Errorf("internal/config reads %v, DESIGN.md documents %v", read, documented)
	}
	want := slices.DeleteFunc(slices.Clone(read), func(s string) bool { return slices.Contains(localOnly, s) })
	// authorize reads the link secret (LINK_SECRET_ID) and never the
	// client secret: it alone goes without GOTO_SECRET_ID.
	withoutClientSecret := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "GOTO_SECRET_ID" })
	for id, fn := range templateFunctions(t, root) {
		w := want
		if id == "AuthorizeFunction" {
			w = withoutClientSecret
		}
		if got := functionEnv(root, fn); !slices.Equal(got, w) {
			t.Errorf("%s's environment has %v, want exactly what internal/config reads (local-only %v left out): %v", id, got, localOnly, w)
		}
	}
}

func TestEnvJSON(t *testing.T) {
	root := templateRoot(t)
	data, err := os.ReadFile("env.json")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("env.json is not {\"Section\": {\"NAME\": \"string value\"}}: %v", err)
	}
	fns := templateFunctions(t, root)
	for section := range env {
		if _, ok := fns[section]; !ok && section != "Parameters" {
			t.Errorf("env.json has a section %q: neither Parameters nor a function of template.yaml", section)
		}
	}
	var templateVars []string
	for id, fn := range fns {
		names := functionEnv(root, fn)
		templateVars = append(templateVars, names...)
		vars, ok := env[id]
		if !ok {
			t.Errorf("env.json has no section for %s", id)
			continue
		}
		if got := slices.Sorted(maps.Keys(vars)); !slices.Equal(got, names) {
			t.Errorf("env.json's %s has %v, want exactly the template's variables %v", id, got, names)
		}
		// Parameters, then the function's own values: a valid local
		// configuration.
		merged := maps.Clone(env["Parameters"])
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, vars)
		if _, err := config.Load(func(k string) string { return merged[k] }); err != nil {
			t.Errorf("env.json's %s is not a valid configuration: %v", id, err)
		}
	}
	// Parameters may also hold what only a local run needs (sam local
	// invoke ignores names the template does not declare).
	for k := range env["Parameters"] {
		if !slices.Contains(templateVars, k) && !slices.Contains(localOnly, k) && !strings.HasPrefix(k, "AWS_") {
			t.Errorf("env.json Parameters has %s: not a template variable, a local-only secret or an AWS SDK setting", k)
		}
	}
}

func TestTemplateTable(t *testing.T) {
	root := templateRoot(t)
	var table *yaml.Node
	res := get(root, "Resources")
	for _, id := range mapKeys(res) {
		if r := get(res, id); value(get(r, "Type")) == "AWS::DynamoDB::Table" {
			if table != nil {
				t.Fatal("template.yaml has more than one table")
			}
			table = get(r, "Properties")
		}
	}
	if table == nil {
		t.Fatal("template.yaml has no AWS::DynamoDB::Table")
	}
	keySchema := func(n *yaml.Node) []string {
		var out []string
		if n != nil {
			for _, k := range n.Content {
				out = append(out, value(get(k, "AttributeName"))+":"+value(get(k, "KeyType")))
			}
		}
		return out
	}
	attrs := map[string]string{}
	if defs := get(table, "AttributeDefinitions"); defs != nil {
		for _, d := range defs.Content {
			attrs[value(get(d, "AttributeName"))] = value(get(d, "AttributeType"))
		}
	}
	if got := keySchema(get(table, "KeySchema")); !slices.Equal(got, []string{"pk:HASH"}) || attrs["pk"] != "S" {
		t.Errorf("table key %v (pk %s), want pk:HASH of type S", got, attrs["pk"])
	}
	var due *yaml.Node
	if gsis := get(table, "GlobalSecondaryIndexes"); gsis != nil {
		for _, g := range gsis.Content {
			if value(get(g, "IndexName")) == "due" {
				due = g
			}
		}
	}
	if due == nil {
		t.Fatal("the table has no GlobalSecondaryIndex named due")
	}
	if got := keySchema(get(due, "KeySchema")); !slices.Equal(got, []string{"due_shard:HASH", "next_refresh_at:RANGE"}) ||
		attrs["due_shard"] != "S" || attrs["next_refresh_at"] != "N" {
		t.Errorf("index due: key %v, types due_shard %q next_refresh_at %q; want due_shard:HASH (S), next_refresh_at:RANGE (N)",
			got, attrs["due_shard"], attrs["next_refresh_at"])
	}
	ttl := get(table, "TimeToLiveSpecification")
	if value(get(ttl, "AttributeName")) != "ttl" || value(get(ttl, "Enabled")) != "true" {
		t.Errorf("TimeToLiveSpecification must enable TTL on attribute ttl")
	}
}

// parseSources parses the non-test Go files of dir.
func parseSources(t *testing.T, dir string) []*ast.File {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}
