package bench

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestFixturesMatchStoreBenchmarks holds fixtures.go to the test-only copy
// the store's report benchmarks load (activities/store/benchdata_test.go):
// the same SQL and the same people, so that `dealflow bench` and
// `go test -bench` over the store measure the same data.
func TestFixturesMatchStoreBenchmarks(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../../../../activities/store/benchdata_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	strs := func(name string) []string {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range gd.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
					continue
				}
				lit, ok := vs.Values[0].(*ast.CompositeLit)
				if !ok {
					t.Fatalf("%s is not a literal", name)
				}
				var out []string
				for _, e := range lit.Elts {
					bl, ok := e.(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s holds a %T, not a string", name, e)
					}
					s, err := strconv.Unquote(bl.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
				return out
			}
		}
		t.Fatalf("the store's copy has no %s", name)
		return nil
	}
	for name, ours := range map[string][]string{
		"sqlBenchFunnel":     sqlBenchFunnel,
		"sqlBenchCoverage":   sqlBenchCoverage,
		"benchCoverageUsers": benchCoverageUsers,
	} {
		if theirs := strs(name); !slices.Equal(ours, theirs) {
			t.Errorf("%s differs from the store's copy:\nhere:  %q\nthere: %q", name, ours, theirs)
		}
	}
}
