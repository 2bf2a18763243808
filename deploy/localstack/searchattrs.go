package localstack

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	sdklog "go.temporal.io/sdk/log"
)

// quietSDKLogger silences the SDK client used for health checks and
// registration.
var quietSDKLogger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// EnsureSearchAttributes registers the custom search attributes (name →
// type, e.g. "DealId": "Keyword") that are not yet known to namespace on
// the server at hostPort, and fails if one exists with another type.
//
// `start-dev --search-attribute` only registers attributes when the SQLite
// file is created, so a developer's long-lived .data/temporal.db would never
// learn about an attribute added later, and a shared test server started for
// one package's attributes must learn another package's. Registering through
// the operator API covers all of these. The dev server refreshes its
// attribute cache on read, so they are usable at once.
func EnsureSearchAttributes(ctx context.Context, hostPort, namespace string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	want := make(map[string]enums.IndexedValueType, len(attrs))
	for name, typ := range attrs {
		v, err := parseIndexedValueType(typ)
		if err != nil {
			return fmt.Errorf("localstack: search attribute %s: %w", name, err)
		}
		want[name] = v
	}

	c, err := dialTemporal(ctx, hostPort, namespace)
	if err != nil {
		return fmt.Errorf("localstack: connecting to temporal at %s: %w", hostPort, err)
	}
	defer c.Close()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("localstack: listing search attributes: %w", err)
	}

	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			got, ok = have.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("localstack: search attribute %s already exists as %v, wanted %v", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already exists") {
		return fmt.Errorf("localstack: registering search attributes: %w", err)
	}
	return nil
}

// parseIndexedValueType accepts the names the CLI accepts ("Keyword",
// "keyword", "KeywordList", ...).
func parseIndexedValueType(s string) (enums.IndexedValueType, error) {
	for name, v := range enums.IndexedValueType_shorthandValue {
		if strings.EqualFold(name, s) {
			return enums.IndexedValueType(v), nil
		}
	}
	return 0, fmt.Errorf("unknown type %q (want Text, Keyword, Int, Double, Bool, Datetime or KeywordList)", s)
}
