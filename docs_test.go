package gotoconnector_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The docs a reader follows name only what the code has: every Go
// identifier of ours (gotoauth.Xxx, refresh.Xxx, gotoauth.Type.Member,
// ts.Method, a bare Xxx in backticks), make target (make xxx), environment
// variable (UPPER_CASE) and command flag (-flag of a cmd/*) that README.md,
// docs/*.md, SECURITY.md and BENCHMARKS.md write in code exists.
//
// When it fails, fix the doc (or the code) in the same commit; a name that
// is not ours but is written like one (an SDK field, a GoTo error) goes into
// notOurs below.
func TestDocsNameWhatExists(t *testing.T) {
	code := readCode(t)
	docs, _ := filepath.Glob("docs/*.md")
	docs = append([]string{"README.md", "SECURITY.md", "BENCHMARKS.md"}, docs...)
	for _, doc := range docs {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range checkDoc(string(src), code) {
			t.Errorf("%s: %s", doc, p)
		}
	}
}

// notOurs are names the docs write in code that are not this module's:
// other libraries' fields and methods, GoTo's and AWS's words.
var notOurs = map[string]bool{
	"GetBody": true, "InvalidToken": true, "Retry-After": true, "ConditionalCheckFailedException": true,
	"ProvisionedThroughputExceededException": true, "ThrottlingException": true, "RetryAfter": true,
	"TransactWriteItems": true, "GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true,
	"Query": true, "Scan": true, "BatchWriteItem": true, "PutEvents": true, "GetSecretValue": true,
	"DescribeTable": true, "Lambda": true, "Errors": true, "Throttles": true, "Duration": true,
	"ConcurrentExecutions": true, "Invocations": true, "IteratorAge": true, "UserErrors": true,
	"SystemErrors": true, "ThrottledRequests": true, "ConsumedWriteCapacityUnits": true,
	"ConsumedReadCapacityUnits": true, "SuccessfulRequestLatency": true, "ReturnValues": true,
	"ALL_NEW": true, "UPDATED_NEW": true, "PAY_PER_REQUEST": true, "TimeToLiveSpecification": true,
	"PointInTimeRecoverySpecification": true, "SSESpecification": true, "KMSMasterKeyId": true,
	"BillingMode": true, "Bearer": true, "Basic": true, "Authorization": true, "Location": true,
	"Cache-Control": true, "Referrer-Policy": true, "Content-Type": true, "Set-Cookie": true,
	"MethodByName": true, "With": true, "RoleArn": true, "ApiGatewayDomainName": true, "CreatedDate": true,
	"Parameters": true, "CREATE_COMPLETE": true,
}

// externalPkgs are package names the docs use that are not ours (or are
// both, like config): their members are not checked.
var externalPkgs = map[string]bool{
	"config": true, "http": true, "url": true, "time": true, "errors": true, "dynamodb": true,
	"eventbridge": true, "rate": true, "slog": true, "context": true, "io": true, "fmt": true,
	"os": true, "aws": true, "json": true, "httptest": true, "oauth2": true, "log": true,
	"strings": true, "bytes": true, "secretsmanager": true, "kms": true, "types": true,
}

// receivers are the variable names the docs use for values of our types.
var receivers = map[string]string{"ts": "gotoauth.TokenSource", "store": "gotoauth.Store", "srv": "gototest.Server"}

type codeFacts struct {
	topLevel map[string]map[string]bool // package name -> exported top-level names
	members  map[string]map[string]bool // "pkg.Type" -> fields and methods
	all      map[string]bool            // every exported name, and template names
	targets  map[string]bool            // make targets
	env      map[string]bool            // UPPER_CASE strings of the code, template, Makefile, env files
	flags    map[string]map[string]bool // cmd name -> flags
}

var (
	skipDirs  = map[string]bool{".cache": true, ".git": true, "build": true, ".aws-sam": true, "node_modules": true}
	flagRE    = regexp.MustCompile(`\.(?:String|Bool|Int|Int64|Uint|Float64|Duration|Var|StringVar|BoolVar|IntVar|Int64Var|DurationVar|Float64Var|Func)\(\s*(?:&?[\w.]+,\s*)?"([a-z][\w-]*)"`)
	upperRE   = regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b`)
	targetRE  = regexp.MustCompile(`(?m)^([a-z][\w-]*%?)\s*:`)
	camelRE   = regexp.MustCompile(`^[A-Z][a-z]+(?:[A-Z][a-z]+)*$`)
	tmplKeyRE = regexp.MustCompile(`(?m)^  ([A-Z]\w+):`)
	// an AWS metric a dashboard widget reads: ["AWS/DynamoDB", "ReadThrottleEvents", ...]
	tmplQuotedRE = regexp.MustCompile(`"AWS/\w+", "([A-Z]\w+)"`)
)

func readCode(t *testing.T) *codeFacts {
	t.Helper()
	c := &codeFacts{topLevel: map[string]map[string]bool{}, members: map[string]map[string]bool{},
		all: map[string]bool{}, targets: map[string]bool{}, env: map[string]bool{}, flags: map[string]map[string]bool{}}
	add := func(m map[string]map[string]bool, k, v string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][v] = true
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		if pkg == "main" {
			pkg = filepath.Base(filepath.Dir(path))
		}
		pkg = strings.TrimSuffix(pkg, "_test")
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					for _, m := range upperRE.FindAllString(s, -1) {
						c.env[m] = true
					}
					if camelRE.MatchString(s) {
						c.all[s] = true // a metric, dimension or field name the code writes
					}
				}
			}
			return true
		})
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					typ := d.Recv.List[0].Type
					if s, ok := typ.(*ast.StarExpr); ok {
						typ = s.X
					}
					if id, ok := typ.(*ast.Ident); ok && d.Name.IsExported() {
						add(c.members, pkg+"."+id.Name, d.Name.Name)
						c.all[d.Name.Name] = true
					}
					continue
				}
				if d.Name.IsExported() {
					add(c.topLevel, pkg, d.Name.Name)
					c.all[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						add(c.topLevel, pkg, s.Name.Name)
						c.all[s.Name.Name] = true
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									add(c.members, pkg+"."+s.Name.Name, n.Name)
									c.all[n.Name] = true
								}
								if len(fld.Names) == 0 { // embedded: its name, and (below) its members
									name := exprName(fld.Type)
									add(c.members, pkg+"."+s.Name.Name, name)
									add(c.members, pkg+"."+s.Name.Name, "embeds:"+name)
								}
							}
						}
						if it, ok := s.Type.(*ast.InterfaceType); ok {
							for _, m := range it.Methods.List {
								for _, n := range m.Names {
									add(c.members, pkg+"."+s.Name.Name, n.Name)
									c.all[n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(c.topLevel, pkg, n.Name)
							c.all[n.Name] = true
						}
					}
				}
			}
		}
		if strings.HasPrefix(path, "cmd"+string(filepath.Separator)) {
			src, _ := os.ReadFile(path)
			for _, m := range flagRE.FindAllStringSubmatch(string(src), -1) {
				add(c.flags, filepath.Base(filepath.Dir(path)), m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"template.yaml", "Makefile", "env.json", "samconfig.toml"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range upperRE.FindAllString(string(src), -1) {
			c.env[m] = true
		}
		if f == "Makefile" {
			for _, m := range targetRE.FindAllStringSubmatch(string(src), -1) {
				c.targets[m[1]] = true
			}
		}
		if f == "template.yaml" {
			for _, m := range tmplKeyRE.FindAllStringSubmatch(string(src), -1) {
				c.all[m[1]] = true // resources, outputs, parameters
			}
			for _, m := range tmplQuotedRE.FindAllStringSubmatch(string(src), -1) {
				c.all[m[1]] = true // metric names the dashboard reads
			}
		}
	}
	return c
}

// hasTargetPrefix reports a target starting with p (the docs write
// "make build-<LogicalId>" for the build-AuthorizeFunction family).
func (c *codeFacts) hasTargetPrefix(p string) bool {
	for t := range c.targets {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func exprName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return exprName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// hasMember reports whether typ ("pkg.Type") has member m, through
// embedded types too.
func (c *codeFacts) hasMember(typ, m string) bool {
	ms := c.members[typ]
	if ms[m] {
		return true
	}
	for k := range ms {
		if e, ok := strings.CutPrefix(k, "embeds:"); ok {
			for t := range c.members {
				if strings.HasSuffix(t, "."+e) && c.members[t][m] {
					return true
				}
			}
		}
	}
	return false
}

var (
	fenceRE     = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inlineRE    = regexp.MustCompile("`([^`\n]+)`")
	qualRE      = regexp.MustCompile(`\b([a-z]\w*)\.([A-Z]\w*)(?:\.([A-Z]\w*))?`)
	recvRE      = regexp.MustCompile(`\b(ts|store|srv)\.([A-Z]\w*)`)
	makeRE      = regexp.MustCompile(`\bmake ([a-z][\w-]*)(<)?`)
	bareRE      = regexp.MustCompile(`^([A-Z][a-z]\w*)(?:\.([A-Z]\w*))?(?:\(\))?$`)
	cmdRE       = regexp.MustCompile(`\bcmd/([a-z][\w-]*)\b`)
	flagUseRE   = regexp.MustCompile(`(?:^|\s)-([a-z][a-z0-9-]*)`)
	testNameRE  = regexp.MustCompile(`^(Test|Benchmark|Fuzz|Example)`)
	uniqProblem = func(ps []string) []string {
		seen := map[string]bool{}
		var out []string
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		sort.Strings(out)
		return out
	}
)

// checkDoc returns what doc names in code that the code does not have.
func checkDoc(doc string, c *codeFacts) []string {
	var spans []string
	for _, m := range fenceRE.FindAllStringSubmatch(doc, -1) {
		spans = append(spans, strings.ReplaceAll(m[1], "\\\n", " "))
	}
	rest := fenceRE.ReplaceAllString(doc, "")
	for _, m := range inlineRE.FindAllStringSubmatch(rest, -1) {
		spans = append(spans, m[1])
	}
	var ps []string
	for _, s := range spans {
		for _, m := range qualRE.FindAllStringSubmatch(s, -1) {
			pkg, name, member := m[1], m[2], m[3]
			names, ours := c.topLevel[pkg]
			if !ours || externalPkgs[pkg] {
				continue
			}
			switch {
			case !names[name]:
				ps = append(ps, pkg+"."+name+" does not exist")
			case member != "" && c.members[pkg+"."+name] != nil && !c.hasMember(pkg+"."+name, member):
				ps = append(ps, pkg+"."+name+"."+member+" does not exist")
			}
		}
		for _, m := range recvRE.FindAllStringSubmatch(s, -1) {
			if typ := receivers[m[1]]; !c.hasMember(typ, m[2]) {
				ps = append(ps, m[1]+"."+m[2]+" ("+typ+") does not exist")
			}
		}
		for _, m := range makeRE.FindAllStringSubmatch(s, -1) {
			if !c.targets[m[1]] && !(m[2] == "<" && c.hasTargetPrefix(m[1])) {
				ps = append(ps, "make "+m[1]+": no such target in the Makefile")
			}
		}
		for _, m := range upperRE.FindAllString(s, -1) {
			if !c.env[m] && !notOurs[m] {
				ps = append(ps, m+": no code, template or Makefile has it")
			}
		}
		for _, line := range strings.Split(s, "\n") {
			cm := cmdRE.FindStringSubmatch(line)
			if cm == nil || c.flags[cm[1]] == nil {
				continue
			}
			for _, f := range flagUseRE.FindAllStringSubmatch(line, -1) {
				if !c.flags[cm[1]][f[1]] {
					ps = append(ps, "cmd/"+cm[1]+" has no flag -"+f[1])
				}
			}
		}
		if m := bareRE.FindStringSubmatch(strings.TrimSpace(s)); m != nil && !notOurs[m[1]] {
			switch {
			case testNameRE.MatchString(m[1]) && !c.all[m[1]]:
				ps = append(ps, m[1]+": no such test, benchmark, fuzz target or example")
			case !c.all[m[1]]:
				ps = append(ps, m[1]+" is not a name in the code or the template")
			}
		}
	}
	return uniqProblem(ps)
}

// Every top-level name pkg/gotoauth exports is one a user writes: the docs'
// or the runnable examples' user code, or a user-facing command, names it as
// gotoauth.Name. A name nobody outside needs belongs in an internal package
// (as internal/ops holds cmd/import's and cmd/reencrypt's types).
func TestLibraryNamesAreUsed(t *testing.T) {
	out, err := exec.Command("go", "doc", "-short", "./pkg/gotoauth").Output()
	if err != nil {
		t.Fatalf("go doc -short ./pkg/gotoauth: %v", err)
	}
	// Each line is a top-level name: "func F(", "type T ", "const C ",
	// "var V ", indented under its type when it returns or has that type.
	decl := regexp.MustCompile(`^\s*(?:func|type|const|var) ([A-Z]\w*)`)
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := decl.FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) < 20 || len(names) > 40 {
		t.Errorf("go doc -short ./pkg/gotoauth lists %d top-level names; the library keeps at most 40", len(names))
	}
	users := []string{"README.md", "pkg/gotoauth/example_test.go"}
	docs, _ := filepath.Glob("docs/*.md")
	users = append(users, docs...)
	_ = filepath.WalkDir("cmd", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			users = append(users, p)
		}
		return nil
	})
	var text strings.Builder
	for _, u := range users {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	sort.Strings(names)
	for _, n := range names {
		if !regexp.MustCompile(`\bgotoauth\.` + n + `\b`).MatchString(text.String()) {
			t.Errorf("gotoauth.%s is exported but no doc, example or command uses it: use it there, or move it to an internal package", n)
		}
	}
}
