package deal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// Action is one human action on a deal. Check says whether it is allowed
// without changing anything (the workflow's update validators call it);
// Apply checks the deal's rules again and then changes the deal, returning
// the events.
type Action interface {
	// validate records what is wrong with the action's own input (text,
	// lists, numbers), whatever the deal.
	validate(ps *problems)
	check(d *Deal, now time.Time) error
	apply(d *Deal, now time.Time, evs *[]Event)
	// ActorID is the user performing the action.
	ActorID() string
}

// ValidateAction checks an action's own input, whatever the deal: every text
// is valid text within its limit, every list within its count. It lists
// every problem, naming the field (a *ValidationError); the API calls it
// before sending the action, Check calls it again.
func ValidateAction(a Action) error {
	var ps problems
	checkUser(&ps, "actor", a.ActorID())
	a.validate(&ps)
	return ps.Err()
}

// Check reports whether a is allowed on d at now, changing nothing: its
// input within the limits (ValidateAction), the rules of the deal's current
// state, and the size the deal would grow to (MaxStateBytes). The
// workflow's update validators call it before an action enters history.
func (d *Deal) Check(a Action, now time.Time) error {
	if strings.TrimSpace(a.ActorID()) == "" {
		return refuse(CodeInvalid, "the acting user is missing")
	}
	if err := ValidateAction(a); err != nil {
		return refuse(CodeInvalid, "%s", err.Error())
	}
	var ps problems
	switch a := a.(type) {
	case PlanChange:
		if err := a.preconditions(d); err != nil {
			return err // the change is tried by checkSize
		}
		a.dueLimits(&ps, now)
	case PauseAction:
		if !a.Until.IsZero() && a.Until.Sub(now) > MaxDuration {
			ps.Add("until", "%s is more than 100 years from now", a.Until.Format(time.RFC3339))
		}
		if err := a.check(d, now); err != nil {
			return err
		}
	default:
		if err := a.check(d, now); err != nil {
			return err
		}
	}
	if err := ps.Err(); err != nil {
		return refuse(CodeInvalid, "%s", err.Error())
	}
	return d.checkSize(a, now)
}

// Apply performs a on d at now. On error d is unchanged.
//
// Apply checks the rules of the deal's state, not the limits on input and
// size: those are Check's, which the workflow's validator runs before an
// action enters history. A replayed history is applied by Apply alone, so
// actions recorded before a limit existed replay exactly as they applied.
func (d *Deal) Apply(a Action, now time.Time) ([]Event, error) {
	if strings.TrimSpace(a.ActorID()) == "" {
		return nil, refuse(CodeInvalid, "the acting user is missing")
	}
	if err := a.check(d, now); err != nil {
		return nil, err
	}
	var evs []Event
	a.apply(d, now, &evs)
	d.refresh(now)
	return evs, nil
}

// Acting is embedded by every action: the user who acts. The API fills it from
// the caller's token; a request body cannot choose it.
type Acting struct {
	Actor string `json:"actor"`
}

// ActorID returns the acting user.
func (a Acting) ActorID() string { return a.Actor }

// --- shared checks ---------------------------------------------------------

func (d *Deal) requireOpen() error {
	if d.Status.Final() {
		return refuse(CodeConflict, "the deal is closed (%s); nothing can change", d.Status)
	}
	return nil
}

func (d *Deal) requireRunning() error {
	if err := d.requireOpen(); err != nil {
		return err
	}
	if d.Status == DealPaused {
		return refuse(CodeConflict, "the deal is paused since %s (%s); the PMO must resume it first", d.Pause.Since.Format(time.RFC3339), d.Pause.Reason)
	}
	return nil
}

func (d *Deal) requirePMO(actor, doing string) error {
	if actor != d.Team.PMO {
		return refuse(CodeForbidden, "only the deal's PMO (%s) can %s", d.Team.PMO, doing)
	}
	return nil
}

func (d *Deal) findMilestone(key string) (*Milestone, error) {
	if m := d.Milestone(key); m != nil {
		return m, nil
	}
	keys := make([]string, len(d.Milestones))
	for i, m := range d.Milestones {
		keys[i] = m.Key
	}
	return nil, refuse(CodeNotFound, "no milestone %q in this deal; its milestones are %s", key, strings.Join(keys, ", "))
}

func requireReason(reason, what string) error {
	if strings.TrimSpace(reason) == "" {
		return refuse(CodeInvalid, "reason is required: say why you %s", what)
	}
	return nil
}

// --- submit ------------------------------------------------------------------

// Submit hands in a milestone's output: every checklist item confirmed, with
// evidence links and a note.
type Submit struct {
	Acting
	Milestone string   `json:"milestone"`
	Checklist []string `json:"checklist"`
	Evidence  []string `json:"evidence,omitempty"`
	Note      string   `json:"note,omitempty"`
}

func (a Submit) validate(ps *problems) {
	ps.Line("milestone", a.Milestone, problem.MaxKey)
	ps.Count("checklist", len(a.Checklist), MaxChecklist)
	for i, item := range first(a.Checklist, MaxChecklist) {
		ps.Line(fmt.Sprintf("checklist[%d]", i), item, problem.MaxName)
	}
	ps.Count("evidence", len(a.Evidence), MaxEvidence)
	for i, e := range first(a.Evidence, MaxEvidence) {
		ps.Line(fmt.Sprintf("evidence[%d]", i), e, problem.MaxLink) // empty: check's rule
	}
	ps.Text("note", a.Note, problem.MaxText)
}

func (a Submit) check(d *Deal, _ time.Time) error {
	if err := d.requireRunning(); err != nil {
		return err
	}
	m, err := d.findMilestone(a.Milestone)
	if err != nil {
		return err
	}
	if owner := d.owner(m); a.Actor != owner && a.Actor != d.Team.PMO {
		return refuse(CodeForbidden, "only the owner of %s (%s) or the PMO (%s) can submit it", m.Key, owner, d.Team.PMO)
	}
	switch m.State {
	case StateActive:
	case StateBlocked:
		return refuse(CodeConflict, "%s is blocked: it waits for %s", m.Key, strings.Join(d.openDeps(m), ", "))
	case StateSubmitted, StateInReview:
		return refuse(CodeConflict, "%s round %d is already submitted and waits for review", m.Key, m.Round)
	default:
		return refuse(CodeConflict, "%s is %s; only an active milestone can be submitted", m.Key, m.State)
	}
	for _, item := range a.Checklist {
		if !slices.Contains(m.Checklist, item) {
			return refuse(CodeInvalid, "checklist item %q is not part of %s's output standard; its items are: %s", item, m.Key, quoteAll(m.Checklist))
		}
	}
	var missing []string
	for _, item := range m.Checklist {
		if !slices.Contains(a.Checklist, item) {
			missing = append(missing, item)
		}
	}
	if len(missing) > 0 {
		return refuse(CodeInvalid, "checklist incomplete for %s: confirm %s", m.Key, quoteAll(missing))
	}
	for _, e := range a.Evidence {
		if strings.TrimSpace(e) == "" {
			return refuse(CodeInvalid, "evidence links cannot be empty")
		}
	}
	return nil
}

func (a Submit) apply(d *Deal, now time.Time, evs *[]Event) {
	m := d.Milestone(a.Milestone)
	m.Submission = &Submission{By: a.Actor, At: now, Checklist: slices.Clone(a.Checklist), Evidence: a.Evidence, Note: a.Note}
	if m.Review == nil {
		d.emit(evs, now, Event{Kind: EventMilestoneSubmitted, Actor: a.Actor, Milestone: m.Key,
			Message: fmt.Sprintf("%s submitted %s", a.Actor, m.Title)})
		d.markDone(evs, now, m, a.Actor)
		return
	}
	m.State = StateSubmitted
	m.Reviewers = d.roundReviewers(m, a.Actor)
	d.emit(evs, now, Event{Kind: EventMilestoneSubmitted, Actor: a.Actor, Milestone: m.Key, Notify: m.Reviewers,
		Data:    map[string]string{"round": fmt.Sprint(m.Round)},
		Message: fmt.Sprintf("%s submitted %s for review (round %d); reviewers: %s", a.Actor, m.Title, m.Round, strings.Join(m.Reviewers, ", "))})
}

// roundReviewers resolves the gate for one round. Nobody reviews their own
// work unless nobody else is listed.
func (d *Deal) roundReviewers(m *Milestone, submitter string) []string {
	all := resolveAll(m.Review.Reviewers, d.Team, d.owner(m))
	others := slices.DeleteFunc(slices.Clone(all), func(u string) bool { return u == submitter || u == d.owner(m) })
	if len(others) > 0 {
		return others
	}
	return all
}

func (d *Deal) openDeps(m *Milestone) []string {
	var out []string
	for _, k := range m.DependsOn {
		if dep := d.Milestone(k); dep != nil && !dep.State.Closed() {
			out = append(out, k)
		}
	}
	return out
}

// markDone closes m, checks the buyer's stage against it, activates what it
// unblocks and wins the deal when the plan is complete.
func (d *Deal) markDone(evs *[]Event, now time.Time, m *Milestone, by string) {
	m.State, m.DoneAt = StateDone, now
	d.emit(evs, now, Event{Kind: EventMilestoneDone, Actor: by, Milestone: m.Key,
		Data:    map[string]string{"round": fmt.Sprint(m.Round)},
		Message: fmt.Sprintf("%s is done (round %d)", m.Title, m.Round)})
	if m.BuyerStage != "" && d.BuyerStage.Rank() < m.BuyerStage.Rank() {
		actual := d.BuyerStage
		if actual == "" {
			actual = "none recorded"
		}
		d.Warnings = append(d.Warnings, Warning{Milestone: m.Key, Expected: m.BuyerStage, Actual: d.BuyerStage, At: now})
		d.emit(evs, now, Event{Kind: EventSellerAhead, Actor: SystemActor, Milestone: m.Key, Notify: []string{d.Team.PMO},
			Data:    map[string]string{"expected": string(m.BuyerStage), "actual": string(d.BuyerStage)},
			Message: fmt.Sprintf("seller ahead of buyer: %s is done but the buyer is at %s, not yet %s", m.Title, actual, m.BuyerStage)})
	}
	d.activateReady(evs, now)
	d.completeIfPlanDone(evs, now)
}

// --- review ------------------------------------------------------------------

// ReviewAction is a reviewer's vote on a submitted milestone.
type ReviewAction struct {
	Acting
	Milestone string         `json:"milestone"`
	Decision  ReviewDecision `json:"decision"`
	Comment   string         `json:"comment,omitempty"`
}

func (a ReviewAction) validate(ps *problems) {
	ps.Line("milestone", a.Milestone, problem.MaxKey)
	ps.Line("decision", string(a.Decision), maxWord)
	ps.Text("comment", a.Comment, problem.MaxText)
}

func (a ReviewAction) check(d *Deal, _ time.Time) error {
	if err := d.requireRunning(); err != nil {
		return err
	}
	m, err := d.findMilestone(a.Milestone)
	if err != nil {
		return err
	}
	if m.Review == nil {
		return refuse(CodeConflict, "%s has no review gate", m.Key)
	}
	if m.State != StateSubmitted && m.State != StateInReview {
		return refuse(CodeConflict, "%s is %s; there is nothing to review until it is submitted", m.Key, m.State)
	}
	if !slices.Contains(m.Reviewers, a.Actor) {
		return refuse(CodeForbidden, "%s is not a reviewer of %s round %d; its reviewers are %s", a.Actor, m.Key, m.Round, strings.Join(m.Reviewers, ", "))
	}
	if slices.ContainsFunc(m.Reviews, func(r Review) bool { return r.Round == m.Round && r.By == a.Actor }) {
		return refuse(CodeConflict, "%s already reviewed %s round %d", a.Actor, m.Key, m.Round)
	}
	switch a.Decision {
	case Approve:
	case Reject:
		if strings.TrimSpace(a.Comment) == "" {
			return refuse(CodeInvalid, "comment is required when rejecting: say what must be reworked")
		}
	default:
		return refuse(CodeInvalid, "decision %q is not approve or reject", a.Decision)
	}
	return nil
}

func (a ReviewAction) apply(d *Deal, now time.Time, evs *[]Event) {
	m := d.Milestone(a.Milestone)
	m.Reviews = append(m.Reviews, Review{Round: m.Round, By: a.Actor, Decision: a.Decision, Comment: a.Comment, At: now})
	data := map[string]string{"round": fmt.Sprint(m.Round), "decision": string(a.Decision)}
	if a.Comment != "" {
		data["comment"] = a.Comment
	}
	if a.Decision == Reject {
		d.emit(evs, now, Event{Kind: EventReviewRejected, Actor: a.Actor, Milestone: m.Key, Notify: []string{d.owner(m)}, Data: data,
			Message: fmt.Sprintf("%s rejected %s round %d: %s", a.Actor, m.Title, m.Round, a.Comment)})
		m.State, m.Round, m.Submission, m.Reviewers = StateActive, m.Round+1, nil, nil
		return
	}
	d.emit(evs, now, Event{Kind: EventReviewApproved, Actor: a.Actor, Milestone: m.Key, Data: data,
		Message: fmt.Sprintf("%s approved %s round %d", a.Actor, m.Title, m.Round)})
	if m.Review.Policy == PolicyAll && len(m.approvals()) < len(m.Reviewers) {
		m.State = StateInReview
		return
	}
	d.markDone(evs, now, m, a.Actor)
}

// approvals returns which of the current round's reviewers approved it.
func (m *Milestone) approvals() []string {
	var out []string
	for _, r := range m.Reviews {
		if r.Round == m.Round && r.Decision == Approve && slices.Contains(m.Reviewers, r.By) {
			out = append(out, r.By)
		}
	}
	return out
}

// --- pause, resume, buyer stage, close ---------------------------------------

// PauseAction stops the deal's clock, optionally until a given time.
type PauseAction struct {
	Acting
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
}

func (a PauseAction) validate(ps *problems) {
	checkTime(ps, "until", a.Until)
	ps.Text("reason", a.Reason, problem.MaxText)
}

func (a PauseAction) check(d *Deal, now time.Time) error {
	if err := d.requirePMO(a.Actor, "pause the deal"); err != nil {
		return err
	}
	if err := d.requireRunning(); err != nil {
		return err
	}
	if !a.Until.IsZero() && !a.Until.After(now) {
		return refuse(CodeInvalid, "until %s is not in the future", a.Until.Format(time.RFC3339))
	}
	return requireReason(a.Reason, "pause the deal")
}

func (a PauseAction) apply(d *Deal, now time.Time, evs *[]Event) {
	d.Status = DealPaused
	d.Pause = &Pause{Since: now, Until: a.Until, Reason: a.Reason, By: a.Actor}
	msg := fmt.Sprintf("deal paused by %s: %s", a.Actor, a.Reason)
	if !a.Until.IsZero() {
		msg += " (until " + a.Until.Format(time.RFC3339) + ")"
	}
	d.emit(evs, now, Event{Kind: EventDealPaused, Actor: a.Actor, Notify: d.Team.Members(), Message: msg,
		Data: map[string]string{"reason": a.Reason}})
}

// ResumeAction restarts a paused deal's clock.
type ResumeAction struct {
	Acting
}

func (a ResumeAction) validate(*problems) {}

func (a ResumeAction) check(d *Deal, _ time.Time) error {
	if err := d.requirePMO(a.Actor, "resume the deal"); err != nil {
		return err
	}
	if err := d.requireOpen(); err != nil {
		return err
	}
	if d.Status != DealPaused {
		return refuse(CodeConflict, "the deal is not paused")
	}
	return nil
}

func (a ResumeAction) apply(d *Deal, now time.Time, evs *[]Event) { d.resume(evs, now, a.Actor) }

// resume shifts every open milestone's due time by the paused span, so a
// pause neither eats into nor adds to anybody's time.
func (d *Deal) resume(evs *[]Event, now time.Time, by string) {
	paused := now.Sub(d.Pause.Since)
	for _, m := range d.Milestones {
		if m.State.Open() {
			m.DueAt = m.DueAt.Add(paused)
		}
	}
	d.Status, d.Pause = DealActive, nil
	d.emit(evs, now, Event{Kind: EventDealResumed, Actor: by, Notify: d.Team.Members(),
		Data:    map[string]string{"paused_for": Duration(paused).String()},
		Message: fmt.Sprintf("deal resumed after %s; due times moved by the same span", Duration(paused.Round(time.Second)))})
	d.activateReady(evs, now)
}

// BuyerStageAction records where the customer stands in its decision process.
type BuyerStageAction struct {
	Acting
	Stage BuyerStage `json:"stage"`
	Note  string     `json:"note,omitempty"`
}

func (a BuyerStageAction) validate(ps *problems) {
	ps.Line("stage", string(a.Stage), maxWord)
	ps.Text("note", a.Note, problem.MaxText)
}

func (a BuyerStageAction) check(d *Deal, _ time.Time) error {
	if a.Actor != d.Team.PMO && a.Actor != d.Team.Commercial && a.Actor != d.Team.Solution {
		return refuse(CodeForbidden, "only the deal's PMO, commercial or solution lead can record the buyer's stage")
	}
	if err := d.requireOpen(); err != nil {
		return err
	}
	if err := a.Stage.check(); err != nil {
		return refuse(CodeInvalid, "%v", err)
	}
	if a.Stage == d.BuyerStage {
		return refuse(CodeConflict, "the buyer is already at %s", a.Stage)
	}
	return nil
}

func (a BuyerStageAction) apply(d *Deal, now time.Time, evs *[]Event) {
	d.BuyerStage = a.Stage
	d.Buyer = append(d.Buyer, BuyerEntry{Stage: a.Stage, Note: a.Note, By: a.Actor, At: now})
	for i := range d.Warnings {
		if a.Stage.Rank() >= d.Warnings[i].Expected.Rank() {
			d.Warnings[i].Resolved = true
		}
	}
	d.emit(evs, now, Event{Kind: EventBuyerStage, Actor: a.Actor, Data: map[string]string{"stage": string(a.Stage), "note": a.Note},
		Message: fmt.Sprintf("buyer reached %s (%d of %d)%s", a.Stage, a.Stage.Rank(), len(BuyerStages), suffix(": ", a.Note))})
}

// CloseAction ends the deal as won, lost or cancelled.
type CloseAction struct {
	Acting
	Outcome DealStatus `json:"outcome"`
	Reason  string     `json:"reason"`
}

func (a CloseAction) validate(ps *problems) {
	ps.Line("outcome", string(a.Outcome), maxWord)
	ps.Text("reason", a.Reason, problem.MaxText)
}

func (a CloseAction) check(d *Deal, _ time.Time) error {
	if err := d.requirePMO(a.Actor, "close the deal"); err != nil {
		return err
	}
	if err := d.requireOpen(); err != nil {
		return err
	}
	if !a.Outcome.Final() {
		return refuse(CodeInvalid, "outcome %q is not won, lost or cancelled", a.Outcome)
	}
	return requireReason(a.Reason, "close the deal")
}

func (a CloseAction) apply(d *Deal, now time.Time, evs *[]Event) {
	d.close(evs, now, a.Actor, a.Outcome, a.Reason)
}

// --- helpers -------------------------------------------------------------------

// maxWord bounds the one-word fields (decision, outcome, stage, op): long
// enough for every valid value, short enough to quote back in a message.
const maxWord = 40

func quoteAll(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// clone deep-copies the deal, for checks that must try a change first.
func (d *Deal) clone() *Deal {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // a Deal always marshals
	}
	var c Deal
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}
