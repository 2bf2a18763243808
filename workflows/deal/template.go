package deal

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Template is a plan of milestones for one sales process type. A deal's plan
// is a template copied into the deal when it starts, then changed as the deal
// goes (milestones added, re-dated, reassigned, skipped).
type Template struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Escalations apply to every milestone that lists none of its own.
	Escalations []EscalationStep `json:"escalations,omitempty"`
	Milestones  []MilestoneSpec  `json:"milestones"`
}

// MilestoneSpec is one milestone as planned.
type MilestoneSpec struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Role  Role   `json:"role"`
	// Owner is a user ID; empty means whoever holds Role on the deal.
	Owner     string   `json:"owner,omitempty"`
	DependsOn []string `json:"depends_on,omitempty"`
	Due       Due      `json:"due"`
	// Checklist is the output standard: every item must be confirmed at submission.
	Checklist   []string         `json:"checklist,omitempty"`
	Review      *ReviewGate      `json:"review,omitempty"`
	Escalations []EscalationStep `json:"escalations,omitempty"`
	// BuyerStage is the buyer decision stage this milestone corresponds to: the
	// buyer should have reached it by the time the milestone is done.
	BuyerStage BuyerStage `json:"buyer_stage,omitempty"`
}

// ReviewPolicy says how many reviewers must approve a round.
type ReviewPolicy string

// Review policies. Under both, one rejection sends the work back.
const (
	PolicyAny ReviewPolicy = "any"
	PolicyAll ReviewPolicy = "all"
)

// ReviewGate is a review a milestone must pass before it is done.
type ReviewGate struct {
	Reviewers []Party      `json:"reviewers"`
	Policy    ReviewPolicy `json:"policy,omitempty"`
}

// EscalationStep fires at an offset from the milestone's due time while the
// milestone is not done: "-2d" reminds before due, "0" at due, "+3d" after.
type EscalationStep struct {
	Offset  Duration `json:"offset"`
	Target  Party    `json:"target"`
	Message string   `json:"message,omitempty"`
	bad     string   // why the decoded offset was refused (see Problem)
}

// Problem says why the decoded offset was refused, or "" when it was read.
func (s EscalationStep) Problem() string { return s.bad }

// UnmarshalJSON reads a step strictly (unknown fields are refused) but keeps
// a bad offset as a problem for validation to report with every other
// problem of the plan, instead of failing the whole decoding.
func (s *EscalationStep) UnmarshalJSON(b []byte) error {
	var raw struct {
		Offset  json.RawMessage `json:"offset"`
		Target  Party           `json:"target"`
		Message string          `json:"message,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*s = EscalationStep{Target: raw.Target, Message: raw.Message}
	if len(raw.Offset) == 0 || string(raw.Offset) == "null" {
		return nil // no offset: at the due time, as before
	}
	off, err := decodeDuration(raw.Offset)
	if err != nil {
		s.bad = err.Error()
		return nil
	}
	s.Offset = off
	return nil
}

//go:embed templates/*.yaml
var builtinFS embed.FS

// Builtins returns the built-in templates, sorted by name. Each is a YAML
// file under templates/, embedded in the binary and validated like any
// custom template.
func Builtins() []Template {
	entries, err := builtinFS.ReadDir("templates")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	var out []Template
	for _, e := range entries {
		data, err := builtinFS.ReadFile(path.Join("templates", e.Name()))
		if err != nil {
			panic(err)
		}
		t, err := ParseTemplate(data)
		if err != nil {
			panic(fmt.Sprintf("built-in template %s: %v", e.Name(), err)) // caught by TestBuiltinsAreValid
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Builtin returns the built-in template with the given name.
func Builtin(name string) (Template, bool) {
	for _, t := range Builtins() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// ParseTemplate reads a template from YAML or JSON, rejecting unknown fields,
// and validates it.
func ParseTemplate(data []byte) (Template, error) {
	var t Template
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return Template{}, &ValidationError{Problems: []Problem{{Field: "template", Message: cleanYAMLError(err)}}}
	}
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: ")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return msg
}

// Milestone returns the spec with the given key.
func (t Template) Milestone(key string) (MilestoneSpec, bool) {
	i := slices.IndexFunc(t.Milestones, func(m MilestoneSpec) bool { return m.Key == key })
	if i < 0 {
		return MilestoneSpec{}, false
	}
	return t.Milestones[i], true
}
