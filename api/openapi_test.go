package api

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// TestEveryRouteIsDocumented keeps openapi.yaml true to the routes: each
// registered route and method is documented, and nothing else is.
func TestEveryRouteIsDocumented(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	e := New(Config{}, Deps{}).(*echo.Echo)
	param := regexp.MustCompile(`:([a-z]+)`)
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if strings.HasSuffix(r.Path, "*") || r.Method == echo.RouteNotFound {
			continue // Echo's own not-found routes for groups
		}
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for route := range served {
		if !documented[route] {
			t.Errorf("%s is served but not in openapi.yaml", route)
		}
	}
	for route := range documented {
		if !served[route] {
			t.Errorf("%s is in openapi.yaml but not served", route)
		}
	}
	if len(served) < 20 {
		t.Errorf("only %d routes found: %v", len(served), slices.Sorted(func(yield func(string) bool) {
			for r := range served {
				if !yield(r) {
					return
				}
			}
		}))
	}
}
