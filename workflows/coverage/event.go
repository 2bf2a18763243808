package coverage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// EventKind is what a team did on an account.
type EventKind string

// Event kinds, each recorded by one team (see TeamOf).
const (
	EventSDRTouch          EventKind = "sdr_touch"          // SDR: a touch at some stage
	EventBDVisit           EventKind = "bd_visit"           // BD: a visit
	EventBDSigning         EventKind = "bd_signing"         // BD: the account signed
	EventSolutionSubmitted EventKind = "solution_submitted" // presales: a solution handed in for review
	EventSolutionReviewed  EventKind = "solution_reviewed"  // presales: a review's result
)

// EventKinds lists the kinds in the order the API documents them.
var EventKinds = []EventKind{EventSDRTouch, EventBDVisit, EventBDSigning, EventSolutionSubmitted, EventSolutionReviewed}

// TeamOf is the team that records events of kind k.
func TeamOf(k EventKind) Team {
	switch k {
	case EventSDRTouch:
		return TeamSDR
	case EventBDVisit, EventBDSigning:
		return TeamBD
	}
	return TeamPresales
}

// SDR touch stages, in the order an account goes through them; reaching
// value_confirmed makes the account a qualified lead.
const (
	StageContactEstablished = "contact_established"
	StageNeedsProbed        = "needs_probed"
	StageValueConfirmed     = "value_confirmed"
)

// TouchStages lists the stages of an SDR touch.
var TouchStages = []string{StageContactEstablished, StageNeedsProbed, StageValueConfirmed}

// Review results.
const (
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
)

// Event is one thing a team did on one of a program's accounts. ID is the
// client's: sending an event again with the same ID records it once.
type Event struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Kind    EventKind `json:"kind"`
	By      string    `json:"by"`
	// At is when it happened; zero means now.
	At time.Time `json:"at,omitzero"`
	// Stage is an SDR touch's stage.
	Stage string `json:"stage,omitempty"`
	// Solution names a presales solution (per account); Round counts its
	// submissions from 1; Result is a review's approved or rejected.
	Solution string `json:"solution,omitempty"`
	Round    int    `json:"round,omitempty"`
	Result   string `json:"result,omitempty"`
	Note     string `json:"note,omitempty"`
}

const maxEventText = 2000

// CheckEvents trims each event's fields, checks each event on its own and
// the batch's ids, and dates events without a time at now (in UTC): the
// first bad event returns an *ImportError. Whether accounts are on the
// program is the store's to check; whether "by" is on the right team is
// CheckEventTeams's.
func CheckEvents(events []Event, now time.Time) error {
	seen := make(map[string]int, len(events))
	for i := range events {
		e := &events[i]
		e.ID, e.Account, e.By = strings.TrimSpace(e.ID), strings.TrimSpace(e.Account), strings.TrimSpace(e.By)
		e.Stage, e.Solution, e.Result = strings.TrimSpace(e.Stage), strings.TrimSpace(e.Solution), strings.TrimSpace(e.Result)
		if err := checkEvent(i, e); err != nil {
			return err
		}
		if e.At.IsZero() {
			e.At = now
		}
		e.At = e.At.UTC()
		if j, dup := seen[e.ID]; dup {
			return ImportErrorf(i, "id", "event id %s appears twice in this batch (also item %d)", e.ID, j)
		}
		seen[e.ID] = i
	}
	return nil
}

// checkEvent checks the fields of event i for its kind.
func checkEvent(i int, e *Event) error {
	switch {
	case !clientIDPattern.MatchString(e.ID):
		return ImportErrorf(i, "id", "event id %q must be 1-128 letters, digits, '.', '_', ':', '@' or '-'", problem.Clip(e.ID))
	case e.Account == "":
		return ImportErrorf(i, "account", "the account's id is required")
	case !slices.Contains(EventKinds, e.Kind):
		return ImportErrorf(i, "kind", "%q is not an event kind: use %s", problem.Clip(string(e.Kind)), joinKinds())
	case e.By == "":
		return ImportErrorf(i, "by", "the id of the user who did it is required")
	case problem.TextError(e.Note, maxEventText) != "":
		return ImportErrorf(i, "note", "%s", problem.TextError(e.Note, maxEventText))
	case problem.LineError(e.Solution, maxAccountText) != "":
		return ImportErrorf(i, "solution", "%s", problem.LineError(e.Solution, maxAccountText))
	case problem.LineError(e.Account, 128) != "":
		return ImportErrorf(i, "account", "%s", problem.LineError(e.Account, 128))
	case problem.LineError(e.By, problem.MaxKey) != "":
		return ImportErrorf(i, "by", "%s", problem.LineError(e.By, problem.MaxKey))
	}
	if e.Kind == EventSDRTouch {
		if !slices.Contains(TouchStages, e.Stage) {
			return ImportErrorf(i, "stage", "an SDR touch has a stage: %s, not %q", strings.Join(TouchStages, ", "), problem.Clip(e.Stage))
		}
	} else if e.Stage != "" {
		return ImportErrorf(i, "stage", "only an sdr_touch has a stage")
	}
	isSolution := e.Kind == EventSolutionSubmitted || e.Kind == EventSolutionReviewed
	switch {
	case isSolution && e.Solution == "":
		return ImportErrorf(i, "solution", "%s names the solution (e.g. erp-proposal)", e.Kind)
	case isSolution && e.Round < 1:
		return ImportErrorf(i, "round", "%s has a round from 1 (the first submission), not %d", e.Kind, e.Round)
	case !isSolution && (e.Solution != "" || e.Round != 0):
		return ImportErrorf(i, "solution", "only solution events have a solution and a round")
	case e.Kind == EventSolutionReviewed && e.Result != ReviewApproved && e.Result != ReviewRejected:
		return ImportErrorf(i, "result", "a review's result is approved or rejected, not %q", problem.Clip(e.Result))
	case e.Kind != EventSolutionReviewed && e.Result != "":
		return ImportErrorf(i, "result", "only a solution_reviewed event has a result")
	}
	return nil
}

func joinKinds() string {
	names := make([]string, len(EventKinds))
	for i, k := range EventKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// CheckEventTeams names, as an *ImportError, the first event recorded by
// someone who is not on the team its kind belongs to.
func CheckEventTeams(p *Program, events []Event) error {
	for i, e := range events {
		team := TeamOf(e.Kind)
		if !slices.Contains(p.Teams.Get(team).Members, e.By) {
			return ImportErrorf(i, "by", "%q is not on program %s's %s team, which records %s events", e.By, p.ID, team, e.Kind)
		}
	}
	return nil
}

// AuthorError refuses an event its caller may not post (the API answers
// 403): the caller is not on the program, or posts in another's name
// without managing that team. Nothing of the batch is stored.
type AuthorError struct {
	// EventID is the refused event's id; Message says who may post it.
	EventID string
	Message string
}

func (e *AuthorError) Error() string { return e.Message }

// CheckEventAuthor is the one rule on who may post a coverage event, and in
// whose name ("" when the caller may post e, else what the caller may do).
// The caller is callerID; managesPrograms says whether they run coverage
// programs (admins, PMOs and directors):
//
//   - those who manage programs post any event, in the name of any member
//     of the team that records its kind;
//   - the lead of the team that records the event's kind posts it in the
//     name of any member of that team (the lead included);
//   - any other member of the program's teams posts only in their own name
//     ("by" is the caller);
//   - nobody else posts events to the program.
//
// Whether "by" is on the right team is checked afterwards, for everyone.
func CheckEventAuthor(p *Program, callerID string, managesPrograms bool, e Event) string {
	if managesPrograms {
		return ""
	}
	team := TeamOf(e.Kind)
	lead := p.Teams.Get(team).Lead
	by := strings.TrimSpace(e.By)
	switch {
	case !p.OnTeams(callerID):
		return fmt.Sprintf("you (%s) are not on program %s's teams: its events are posted by its team members in their own name, "+
			"by each team's lead for that team, or by a PMO, director or admin", callerID, p.ID)
	case by == callerID, callerID == lead:
		return ""
	}
	return fmt.Sprintf("event %s is in %q's name, not yours (%s): you post events only with \"by\": %q; events in another's name "+
		"are posted by the lead of program %s's %s team (%s) or by a PMO, director or admin", e.ID, by, callerID, callerID, p.ID, team, orNone(lead))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CheckEventAuthors applies CheckEventAuthor to a batch: the first event
// the caller may not post returns an *AuthorError.
func CheckEventAuthors(p *Program, callerID string, managesPrograms bool, events []Event) error {
	for _, e := range events {
		if msg := CheckEventAuthor(p, callerID, managesPrograms, e); msg != "" {
			return &AuthorError{EventID: e.ID, Message: msg}
		}
	}
	return nil
}
