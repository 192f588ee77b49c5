package gotoauth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every exported name of the public packages is documented.
func TestExportedNamesAreDocumented(t *testing.T) {
	for _, dir := range []string{".", "gototest"} {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			for file, f := range p.Files {
				for _, d := range f.Decls {
					for _, name := range undocumented(d) {
						t.Errorf("%s: %s is exported but not documented", file, name)
					}
				}
			}
		}
	}
}

func undocumented(d ast.Decl) []string {
	var out []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() || d.Doc != nil {
			return nil
		}
		if d.Recv != nil {
			typ := d.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && !id.IsExported() {
				return nil
			}
		}
		out = append(out, d.Name.Name)
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
					out = append(out, s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	return out
}

// The example of the package doc compiles against the package as it is:
// its code block, in a function that gives it ctx, clientID and
// clientSecret, is type-checked by go vet. If it fails, the doc names
// something the package no longer has (or calls it the wrong way).
func TestPackageDocExampleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, line := range strings.Split(string(src), "\n") {
		if l, ok := strings.CutPrefix(line, "//\t"); ok {
			code = append(code, "\t"+l)
		} else if len(code) > 0 {
			break // the first code block only
		}
	}
	if len(code) == 0 {
		t.Fatal("no code block in the package doc")
	}
	prog := `package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

func main() { _ = example(context.Background(), "id", "secret") }

func example(ctx context.Context, clientID, clientSecret string) error {
` + strings.Join(code, "\n") + `
	return nil
}

var _ = log.Fatal
`
	// A directory whose name starts with a dot is in the module but not
	// in ./... patterns.
	dir, err := os.MkdirTemp(".", ".docexample")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "vet", "./"+dir).CombinedOutput(); err != nil {
		t.Fatalf("the package doc's example does not compile: %v\n%s\n%s", err, out, prog)
	}
}
