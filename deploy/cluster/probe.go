package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// probe starts a workflow that carries a value for every search attribute
// (on a task queue nobody polls), finds it through visibility by each of
// them, and terminates it. It proves that the frontend, history and
// visibility all know the namespace and its attributes.
func probe(ctx context.Context, tc client.Client, attrs map[string]string) error {
	var sas []temporal.SearchAttributeUpdate
	var query []string
	for name, typ := range attrs {
		switch strings.ToLower(typ) {
		case "keyword":
			sas = append(sas, temporal.NewSearchAttributeKeyKeyword(name).ValueSet("probe"))
			query = append(query, name+" = 'probe'")
		case "text":
			sas = append(sas, temporal.NewSearchAttributeKeyString(name).ValueSet("probe"))
		case "keywordlist":
			sas = append(sas, temporal.NewSearchAttributeKeyKeywordList(name).ValueSet([]string{"probe"}))
			query = append(query, name+" = 'probe'")
		case "int":
			sas = append(sas, temporal.NewSearchAttributeKeyInt64(name).ValueSet(1))
			query = append(query, name+" = 1")
		case "double":
			sas = append(sas, temporal.NewSearchAttributeKeyFloat64(name).ValueSet(1.5))
			query = append(query, name+" = 1.5")
		case "bool":
			sas = append(sas, temporal.NewSearchAttributeKeyBool(name).ValueSet(true))
			query = append(query, name+" = true")
		case "datetime":
			sas = append(sas, temporal.NewSearchAttributeKeyTime(name).ValueSet(time.Unix(1, 0).UTC()))
			query = append(query, name+" = '1970-01-01T00:00:01Z'")
		default:
			return fmt.Errorf("search attribute %s: unknown type %q", name, typ)
		}
	}
	id := "cluster-probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             "cluster-probe",
		TypedSearchAttributes: temporal.NewSearchAttributes(sas...),
	}, "ClusterProbe")
	if err != nil {
		return err
	}
	defer func() { _ = tc.TerminateWorkflow(context.WithoutCancel(ctx), id, run.GetRunID(), "probe done") }()
	q := "WorkflowId = '" + id + "'"
	if len(query) > 0 {
		q += " AND " + strings.Join(query, " AND ")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return fmt.Errorf("listing %q: %w", q, err)
		}
		if len(r.GetExecutions()) == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the probe workflow is not found by %q", q)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
