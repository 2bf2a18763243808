package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/problem"
)

// CoverageEventKind is what a team did on an account.
type CoverageEventKind string

// Event kinds, each recorded by one team (see TeamOf).
const (
	EventSDRTouch          CoverageEventKind = "sdr_touch"          // SDR: a touch at some stage
	EventBDVisit           CoverageEventKind = "bd_visit"           // BD: a visit
	EventBDSigning         CoverageEventKind = "bd_signing"         // BD: the account signed
	EventSolutionSubmitted CoverageEventKind = "solution_submitted" // presales: a solution handed in for review
	EventSolutionReviewed  CoverageEventKind = "solution_reviewed"  // presales: a review's result
)

// CoverageEventKinds lists the kinds in the order the API documents them.
var CoverageEventKinds = []CoverageEventKind{EventSDRTouch, EventBDVisit, EventBDSigning, EventSolutionSubmitted, EventSolutionReviewed}

// TeamOf is the team that records events of kind k.
func TeamOf(k CoverageEventKind) CoverageTeam {
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

// CoverageEvent is one thing a team did on one of a program's accounts. ID
// is the client's: sending an event again with the same ID records it once.
type CoverageEvent struct {
	ID      string            `json:"id"`
	Account string            `json:"account"`
	Kind    CoverageEventKind `json:"kind"`
	By      string            `json:"by"`
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

// EventIngest says what an ingestion did: events recorded now, and events
// already recorded under the same id (sent again, and left as they were).
type EventIngest struct {
	Received   int `json:"received"`
	Recorded   int `json:"recorded"`
	Duplicates int `json:"duplicates"`
}

const (
	maxEventText = 2000

	sqlProgramAccountsIn    = `SELECT id FROM coverage_accounts WHERE program_id = $1 AND id = ANY($2)`
	sqlInsertCoverageEvents = `
INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at, stage, solution, round, result, note)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
	$7::text[], $8::text[], $9::int[], $10::text[], $11::text[])
ON CONFLICT (program_id, id) DO NOTHING`
)

// RecordCoverageEvents stores a batch of a program's events posted by
// caller, all or nothing. The first bad event (unknown kind or stage,
// missing field, an id twice, an account not on the program, a user not on
// the team that records its kind) returns a *CoverageImportError; the first
// event caller may not post (see CheckEventAuthor) a *CoverageAuthorError;
// either way nothing is stored. Events whose id is already recorded are
// counted as duplicates and left unchanged. An unknown program returns
// ErrNotFound.
func (s *Store) RecordCoverageEvents(ctx context.Context, programID string, caller *User, events []CoverageEvent) (*EventIngest, error) {
	if caller == nil {
		return nil, errors.New("store: recording coverage events: no caller: every event has an author")
	}
	now := time.Now().UTC()
	if err := checkEvents(events, now); err != nil {
		return nil, err
	}
	out := &EventIngest{Received: len(events)}
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProgram(ctx, tx, programID); err != nil {
			return err
		}
		p, err := getProgram(ctx, tx, programID)
		if err != nil {
			return err
		}
		if err := CheckEventAuthors(p, caller, events); err != nil {
			return err
		}
		if err := checkEventAccounts(ctx, tx, programID, events); err != nil {
			return err
		}
		if err := checkEventTeams(p, events); err != nil {
			return err
		}
		for from := 0; from < len(events); from += importBatch {
			batch := events[from:min(from+importBatch, len(events))]
			n := len(batch)
			ids, accounts, kinds, actors := make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n)
			stages, solutions, results, notes := make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n)
			ats, rounds := make([]time.Time, 0, n), make(pq.Int64Array, 0, n)
			for _, e := range batch {
				ids, accounts, kinds, actors = append(ids, e.ID), append(accounts, e.Account), append(kinds, string(e.Kind)), append(actors, e.By)
				ats, stages, solutions = append(ats, e.At), append(stages, e.Stage), append(solutions, e.Solution)
				rounds, results, notes = append(rounds, int64(e.Round)), append(results, e.Result), append(notes, e.Note)
			}
			res, err := tx.ExecContext(ctx, sqlInsertCoverageEvents, programID, ids, accounts, kinds, actors,
				pq.Array(ats), stages, solutions, rounds, results, notes)
			if err != nil {
				return fmt.Errorf("store: recording coverage events: %w", err)
			}
			recorded, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out.Recorded += int(recorded)
		}
		out.Duplicates = len(events) - out.Recorded
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkEvents checks each event on its own and the batch's ids.
func checkEvents(events []CoverageEvent, now time.Time) error {
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
			return importErr(i, "id", "event id %s appears twice in this batch (also item %d)", e.ID, j)
		}
		seen[e.ID] = i
	}
	return nil
}

// checkEvent checks the fields of event i for its kind.
func checkEvent(i int, e *CoverageEvent) error {
	switch {
	case !clientIDPattern.MatchString(e.ID):
		return importErr(i, "id", "event id %q must be 1-128 letters, digits, '.', '_', ':', '@' or '-'", problem.Clip(e.ID))
	case e.Account == "":
		return importErr(i, "account", "the account's id is required")
	case !slices.Contains(CoverageEventKinds, e.Kind):
		return importErr(i, "kind", "%q is not an event kind: use %s", problem.Clip(string(e.Kind)), joinKinds())
	case e.By == "":
		return importErr(i, "by", "the id of the user who did it is required")
	case problem.TextError(e.Note, maxEventText) != "":
		return importErr(i, "note", "%s", problem.TextError(e.Note, maxEventText))
	case problem.LineError(e.Solution, maxAccountText) != "":
		return importErr(i, "solution", "%s", problem.LineError(e.Solution, maxAccountText))
	case problem.LineError(e.Account, 128) != "":
		return importErr(i, "account", "%s", problem.LineError(e.Account, 128))
	case problem.LineError(e.By, problem.MaxKey) != "":
		return importErr(i, "by", "%s", problem.LineError(e.By, problem.MaxKey))
	}
	if e.Kind == EventSDRTouch {
		if !slices.Contains(TouchStages, e.Stage) {
			return importErr(i, "stage", "an SDR touch has a stage: %s, not %q", strings.Join(TouchStages, ", "), problem.Clip(e.Stage))
		}
	} else if e.Stage != "" {
		return importErr(i, "stage", "only an sdr_touch has a stage")
	}
	isSolution := e.Kind == EventSolutionSubmitted || e.Kind == EventSolutionReviewed
	switch {
	case isSolution && e.Solution == "":
		return importErr(i, "solution", "%s names the solution (e.g. erp-proposal)", e.Kind)
	case isSolution && e.Round < 1:
		return importErr(i, "round", "%s has a round from 1 (the first submission), not %d", e.Kind, e.Round)
	case !isSolution && (e.Solution != "" || e.Round != 0):
		return importErr(i, "solution", "only solution events have a solution and a round")
	case e.Kind == EventSolutionReviewed && e.Result != ReviewApproved && e.Result != ReviewRejected:
		return importErr(i, "result", "a review's result is approved or rejected, not %q", problem.Clip(e.Result))
	case e.Kind != EventSolutionReviewed && e.Result != "":
		return importErr(i, "result", "only a solution_reviewed event has a result")
	}
	return nil
}

func joinKinds() string {
	names := make([]string, len(CoverageEventKinds))
	for i, k := range CoverageEventKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// checkEventAccounts names the first event whose account is not on the
// program.
func checkEventAccounts(ctx context.Context, tx *sqlx.Tx, programID string, events []CoverageEvent) error {
	var wanted pq.StringArray
	for _, e := range events {
		wanted = append(wanted, e.Account)
	}
	var found []string
	if err := sqlx.SelectContext(ctx, tx, &found, sqlProgramAccountsIn, programID, wanted); err != nil {
		return err
	}
	on := make(map[string]bool, len(found))
	for _, id := range found {
		on[id] = true
	}
	for i, e := range events {
		if !on[e.Account] {
			return importErr(i, "account", "account %q is not on program %s; import it first", e.Account, programID)
		}
	}
	return nil
}

// checkEventTeams names the first event recorded by someone who is not on
// the team its kind belongs to.
func checkEventTeams(p *Program, events []CoverageEvent) error {
	for i, e := range events {
		team := TeamOf(e.Kind)
		if !slices.Contains(p.Teams.Get(team).Members, e.By) {
			return importErr(i, "by", "%q is not on program %s's %s team, which records %s events", e.By, p.ID, team, e.Kind)
		}
	}
	return nil
}

// CoverageAuthorError refuses an event its caller may not post (the API
// answers 403): the caller is not on the program, or posts in another's
// name without managing that team. Nothing of the batch is stored.
type CoverageAuthorError struct {
	// EventID is the refused event's id; Message says who may post it.
	EventID string
	Message string
}

func (e *CoverageAuthorError) Error() string { return e.Message }

// OnTeams reports whether user id is on any of the program's teams.
func (p *Program) OnTeams(id string) bool {
	for _, team := range CoverageTeams {
		if slices.Contains(p.Teams.Get(team).Members, id) {
			return true
		}
	}
	return false
}

// ManagesPrograms reports whether u runs coverage programs: admins, PMOs
// and directors create, replace and delete any program (and so could name
// its teams), so they may post any team's events in any member's name.
func ManagesPrograms(u *User) bool {
	return u.HasRole(RoleAdmin) || u.HasRole(RolePMO) || u.HasRole(RoleDirector)
}

// CheckEventAuthor is the one rule on who may post a coverage event, and in
// whose name ("" when caller may post e, else what the caller may do):
//
//   - admins, PMOs and directors (ManagesPrograms) post any event, in the
//     name of any member of the team that records its kind;
//   - the lead of the team that records the event's kind posts it in the
//     name of any member of that team (the lead included);
//   - any other member of the program's teams posts only in their own name
//     ("by" is the caller);
//   - nobody else posts events to the program.
//
// Whether "by" is on the right team is checked afterwards, for everyone.
func CheckEventAuthor(p *Program, caller *User, e CoverageEvent) string {
	if ManagesPrograms(caller) {
		return ""
	}
	team := TeamOf(e.Kind)
	lead := p.Teams.Get(team).Lead
	by := strings.TrimSpace(e.By)
	switch {
	case !p.OnTeams(caller.ID):
		return fmt.Sprintf("you (%s) are not on program %s's teams: its events are posted by its team members in their own name, "+
			"by each team's lead for that team, or by a PMO, director or admin", caller.ID, p.ID)
	case by == caller.ID, caller.ID == lead:
		return ""
	}
	return fmt.Sprintf("event %s is in %q's name, not yours (%s): you post events only with \"by\": %q; events in another's name "+
		"are posted by the lead of program %s's %s team (%s) or by a PMO, director or admin", e.ID, by, caller.ID, caller.ID, p.ID, team, orNone(lead))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CheckEventAuthors applies CheckEventAuthor to a batch: the first event
// caller may not post returns a *CoverageAuthorError.
func CheckEventAuthors(p *Program, caller *User, events []CoverageEvent) error {
	for _, e := range events {
		if msg := CheckEventAuthor(p, caller, e); msg != "" {
			return &CoverageAuthorError{EventID: e.ID, Message: msg}
		}
	}
	return nil
}
