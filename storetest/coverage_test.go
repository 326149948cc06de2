package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// TestEveryMethodCovered fails when a method of lanyard.Store is called
// nowhere in the suite: a new method needs conformance tests.
func TestEveryMethodCovered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	called := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					called[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	store := reflect.TypeOf((*lanyard.Store)(nil)).Elem()
	for i := 0; i < store.NumMethod(); i++ {
		if name := store.Method(i).Name; !called[name] && name != "Close" {
			t.Errorf("lanyard.Store.%s is not exercised by the conformance suite", name)
		}
	}
}
