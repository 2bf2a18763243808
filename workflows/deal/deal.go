package deal

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// DealStatus is where a deal stands as a whole.
type DealStatus string

// Deal statuses. Won, lost and cancelled are final.
const (
	DealActive    DealStatus = "active"
	DealPaused    DealStatus = "paused"
	DealWon       DealStatus = "won"
	DealLost      DealStatus = "lost"
	DealCancelled DealStatus = "cancelled"
)

// Final reports whether the deal is closed.
func (s DealStatus) Final() bool { return s == DealWon || s == DealLost || s == DealCancelled }

// MilestoneState is a milestone's place in its state machine:
//
//	blocked → active → submitted → in_review → done
//	                       ↑            │
//	                       └── rejected: active again, round + 1
//
// A milestone without a review gate goes from submitted straight to done.
// Submitted means no reviewer has voted in this round yet; in_review means
// some have and others (policy all) have not. Skipped is final, with a reason.
type MilestoneState string

// Milestone states.
const (
	StateBlocked   MilestoneState = "blocked"
	StateActive    MilestoneState = "active"
	StateSubmitted MilestoneState = "submitted"
	StateInReview  MilestoneState = "in_review"
	StateDone      MilestoneState = "done"
	StateSkipped   MilestoneState = "skipped"
)

// Open reports whether the milestone is under way (its clock is running).
func (s MilestoneState) Open() bool {
	return s == StateActive || s == StateSubmitted || s == StateInReview
}

// Closed reports whether the milestone no longer blocks its dependents.
func (s MilestoneState) Closed() bool { return s == StateDone || s == StateSkipped }

// DealSpec is what a deal starts from.
type DealSpec struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Customer string   `json:"customer"`
	Amount   float64  `json:"amount"`
	Currency string   `json:"currency"`
	Team     Team     `json:"team"`
	Plan     Template `json:"plan"`
	// TemplateVersion is the saved template's version Plan was copied from
	// (BuiltinTemplateVersion for a built-in template or an explicit plan).
	TemplateVersion int `json:"template_version,omitempty"`
}

// BuiltinTemplateVersion is the version of every built-in template (and of
// an explicit plan): saved templates count their versions from 1.
const BuiltinTemplateVersion = 0

// Deal is the whole state of one deal. It is a plain serialisable value: the
// workflow holds one, returns it from the state query, carries it across
// continue-as-new, and projects it to Postgres.
type Deal struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Team     Team    `json:"team"`
	Template string  `json:"template"`
	// TemplateVersion is the version of Template the deal started from.
	TemplateVersion int `json:"template_version,omitempty"`
	// Escalations are the plan's default steps, for milestones added later.
	Escalations []EscalationStep `json:"escalations,omitempty"`

	Status     DealStatus   `json:"status"`
	StartedAt  time.Time    `json:"started_at"`
	Milestones []*Milestone `json:"milestones"`
	BuyerStage BuyerStage   `json:"buyer_stage,omitempty"`
	Buyer      []BuyerEntry `json:"buyer_history,omitempty"`
	Pause      *Pause       `json:"pause,omitempty"`
	Outcome    *Outcome     `json:"outcome,omitempty"`
	Warnings   []Warning    `json:"warnings,omitempty"`

	// Next is the earliest pending deadline, nil when nothing is pending.
	Next    *Deadline `json:"next_deadline,omitempty"`
	Metrics Metrics   `json:"metrics"`

	// Seq is the last event sequence number; Version increases with every
	// change and orders projections.
	Seq       int64     `json:"seq"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Milestone is one milestone of a running deal: its spec plus its progress.
type Milestone struct {
	MilestoneSpec
	State       MilestoneState `json:"state"`
	ActivatedAt time.Time      `json:"activated_at,omitzero"`
	DueAt       time.Time      `json:"due_at,omitzero"`
	DoneAt      time.Time      `json:"done_at,omitzero"`
	// Round counts submissions: 1 for the first, +1 after each rejection.
	Round      int          `json:"round"`
	Submission *Submission  `json:"submission,omitempty"`
	Reviewers  []string     `json:"reviewers,omitempty"` // this round's reviewers
	Reviews    []Review     `json:"reviews,omitempty"`   // every round's votes
	Overdue    bool         `json:"overdue"`
	Alarms     int          `json:"alarms_fired"` // alarms fired on the current due time
	Escalation int          `json:"escalation_level"`
	Escalated  []Escalation `json:"escalations_fired,omitempty"`
	SkipReason string       `json:"skip_reason,omitempty"`
}

// Submission is what the owner handed in for a round.
type Submission struct {
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Checklist []string  `json:"checklist"`
	Evidence  []string  `json:"evidence,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// ReviewDecision is a reviewer's vote.
type ReviewDecision string

// Review decisions.
const (
	Approve ReviewDecision = "approve"
	Reject  ReviewDecision = "reject"
)

// Review is one reviewer's vote in one round.
type Review struct {
	Round    int            `json:"round"`
	By       string         `json:"by"`
	Decision ReviewDecision `json:"decision"`
	Comment  string         `json:"comment,omitempty"`
	At       time.Time      `json:"at"`
}

// Escalation records a fired escalation step: who was told, when.
type Escalation struct {
	Level   int       `json:"level"`
	At      time.Time `json:"at"`
	Targets []string  `json:"targets"`
	Message string    `json:"message"`
}

// Pause is a running pause. Until is optional; the deal resumes itself then.
type Pause struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
}

// Outcome is how a deal closed.
type Outcome struct {
	Status DealStatus `json:"status"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
	At     time.Time  `json:"at"`
}

// BuyerEntry is one recorded buyer stage.
type BuyerEntry struct {
	Stage BuyerStage `json:"stage"`
	Note  string     `json:"note,omitempty"`
	By    string     `json:"by"`
	At    time.Time  `json:"at"`
}

// Warning flags a seller milestone done while the buyer lags behind it.
type Warning struct {
	Milestone string     `json:"milestone"`
	Expected  BuyerStage `json:"expected"`
	Actual    BuyerStage `json:"actual"`
	At        time.Time  `json:"at"`
	Resolved  bool       `json:"resolved"`
}

// NewDeal validates spec and starts a deal at now: owners resolved from the
// team, review gates and escalation targets checked against it, milestones
// without dependencies activated. It returns the deal and its first events.
//
// NewDeal applies the rules every deal recorded so far passed, so that a
// replayed start is never refused by a limit added later; a new deal must
// pass CheckSpec first, which adds every limit and the state bound.
func NewDeal(spec DealSpec, now time.Time) (*Deal, []Event, error) {
	var ps problems
	spec.check(&ps, now, false)
	if len(ps) > 0 {
		return nil, nil, ps.Err()
	}
	d := &Deal{
		ID: spec.ID, Name: spec.Name, Customer: spec.Customer, Amount: spec.Amount,
		Currency: spec.Currency, Team: spec.Team, Template: spec.Plan.Name, TemplateVersion: spec.TemplateVersion,
		Escalations: spec.Plan.Escalations, Status: DealActive, StartedAt: now,
	}
	if d.Currency == "" {
		d.Currency = "CNY"
	}
	for _, s := range spec.Plan.Milestones {
		d.Milestones = append(d.Milestones, d.newMilestone(s))
	}
	if err := d.checkStaffing(); err != nil {
		return nil, nil, err
	}
	var evs []Event
	d.emit(&evs, now, Event{Kind: EventDealStarted, Actor: d.Team.PMO,
		Message: fmt.Sprintf("deal %s started for %s with the %s plan (%d milestones)", d.Name, d.Customer, d.Template, len(d.Milestones))})
	d.activateReady(&evs, now)
	d.refresh(now)
	return d, evs, nil
}

// CheckSpec says whether a new deal may start from spec at now: NewDeal's
// rules plus every limit — the deal id as an identifier (problem.KeyError),
// text and lists within their limits, a finite amount, due times within
// MaxDuration of now — as a *ValidationError listing every problem; then
// whether the deal it would start stays within MaxStateBytes and its first
// events within MaxEventBytes (an *ActionError with CodeTooLarge). Every
// starter calls it before starting a deal (the API does).
func CheckSpec(spec DealSpec, now time.Time) error {
	var ps problems
	spec.check(&ps, now, true)
	if len(ps) > 0 {
		return ps.Err()
	}
	d, evs, err := NewDeal(spec, now)
	if err != nil {
		return err
	}
	if n := d.StateBytes(); n > MaxStateBytes {
		return tooLarge(n)
	}
	return checkEventBytes(evs)
}

// check records the spec's problems: NewDeal's rules, and with limits every
// limit too (see CheckSpec).
func (spec DealSpec) check(ps *problems, now time.Time, limits bool) {
	if limits {
		ps.Key("id", spec.ID)
	} else if strings.TrimSpace(spec.ID) == "" || strings.ContainsAny(spec.ID, "/ ") || len(spec.ID) > 128 {
		ps.Add("id", "a deal id is required: up to 128 characters, no spaces or '/'")
	}
	if strings.TrimSpace(spec.Name) == "" {
		ps.Add("name", "a deal needs a name")
	} else if limits {
		ps.Line("name", spec.Name, problem.MaxName)
	}
	if strings.TrimSpace(spec.Customer) == "" {
		ps.Add("customer", "a deal needs a customer")
	} else if limits {
		ps.Line("customer", spec.Customer, problem.MaxName)
	}
	if limits {
		checkAmount(ps, "amount", spec.Amount)
	} else if spec.Amount < 0 {
		ps.Add("amount", "amount cannot be negative")
	}
	if spec.Currency != "" && !currencyPattern.MatchString(spec.Currency) {
		ps.Add("currency", "currency %q must be a three-letter ISO 4217 code such as CNY or USD", problem.Clip(spec.Currency))
	}
	if spec.Team.PMO == "" {
		ps.Add("team.pmo", "every deal needs a PMO")
	}
	if limits {
		spec.Team.check(ps)
	}
	n := len(*ps)
	spec.Plan.check(ps, limits)
	if limits && len(*ps) == n {
		for i, m := range spec.Plan.Milestones {
			checkDueNear(ps, specField(i, m.Key)+".due", m.Due, now)
		}
	}
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// newMilestone fills a spec's defaults for this deal.
// The spec's slices and review gate are copied, so the caller's template (or
// plan change) is never modified.
func (d *Deal) newMilestone(s MilestoneSpec) *Milestone {
	if s.Owner == "" { // resolved now, so the state always names the owner
		s.Owner = d.Team.Holder(s.Role)
	}
	if len(s.Escalations) == 0 {
		s.Escalations = d.Escalations
	}
	s.Escalations = slices.Clone(s.Escalations)
	s.DependsOn, s.Checklist = slices.Clone(s.DependsOn), slices.Clone(s.Checklist)
	slices.SortStableFunc(s.Escalations, func(a, b EscalationStep) int { return cmp.Compare(a.Offset, b.Offset) })
	if s.Review != nil {
		r := *s.Review
		r.Reviewers = slices.Clone(r.Reviewers)
		if r.Policy == "" {
			r.Policy = PolicyAny
		}
		s.Review = &r
	}
	return &Milestone{MilestoneSpec: s, State: StateBlocked}
}

// checkStaffing verifies that every milestone has an owner and that every
// review gate and escalation step reaches at least one person on this team.
func (d *Deal) checkStaffing() error {
	var ps problems
	for _, m := range d.Milestones {
		d.checkMilestoneStaffing(&ps, m)
	}
	return ps.Err()
}

func (d *Deal) checkMilestoneStaffing(ps *problems, m *Milestone) {
	field := fmt.Sprintf("milestones[%s]", m.Key)
	if d.owner(m) == "" {
		ps.Add(field+".owner", "no owner: set owner, or name the deal's %s in team.%s", m.Role, m.Role)
	}
	if m.Review != nil && len(resolveAll(m.Review.Reviewers, d.Team, d.owner(m))) == 0 {
		ps.Add(field+".review.reviewers", "the review gate reaches nobody on this team (reviewers %v): fill team.approvers or name users", m.Review.Reviewers)
	}
	for i, s := range m.Escalations {
		if len(s.Target.resolve(d.Team, d.owner(m))) == 0 {
			ps.Add(fmt.Sprintf("%s.escalations[%d].target", field, i), "escalation target %s is not held by anyone on this team: set team.%s", s.Target, s.Target)
		}
	}
}

// owner returns who owns m (resolved from the team when m joined the deal).
func (d *Deal) owner(m *Milestone) string { return m.Owner }

// Milestone returns the milestone with the given key, or nil.
func (d *Deal) Milestone(key string) *Milestone {
	for _, m := range d.Milestones {
		if m.Key == key {
			return m
		}
	}
	return nil
}

// emit appends an event with the next sequence number.
func (d *Deal) emit(evs *[]Event, now time.Time, e Event) {
	d.Seq++
	e.Seq, e.At = d.Seq, now
	*evs = append(*evs, e)
}

// activateReady activates every blocked milestone whose dependencies are all
// closed. A paused deal activates nothing: its clock is stopped.
func (d *Deal) activateReady(evs *[]Event, now time.Time) {
	if d.Status != DealActive {
		return
	}
	for _, m := range d.Milestones {
		if m.State != StateBlocked || !d.depsClosed(m) {
			continue
		}
		m.State, m.ActivatedAt, m.Round = StateActive, now, 1
		m.DueAt = m.Due.From(now)
		m.resetAlarms(now)
		owner := d.owner(m)
		d.emit(evs, now, Event{Kind: EventMilestoneActivated, Actor: SystemActor, Milestone: m.Key,
			Notify:  []string{owner},
			Message: fmt.Sprintf("%s is now active; owner %s, due %s", m.Title, owner, m.DueAt.Format(time.RFC3339))})
	}
}

func (d *Deal) depsClosed(m *Milestone) bool {
	for _, k := range m.DependsOn {
		if dep := d.Milestone(k); dep == nil || !dep.State.Closed() {
			return false
		}
	}
	return true
}

// ActiveKeys returns the keys of open milestones, in plan order: the deal's
// current stage.
func (d *Deal) ActiveKeys() []string {
	keys := []string{}
	for _, m := range d.Milestones {
		if m.State.Open() {
			keys = append(keys, m.Key)
		}
	}
	return keys
}

// Overdue reports whether any open milestone is past due.
func (d *Deal) Overdue() bool {
	return slices.ContainsFunc(d.Milestones, func(m *Milestone) bool { return m.State.Open() && m.Overdue })
}

// completeIfPlanDone wins the deal when every milestone is closed.
func (d *Deal) completeIfPlanDone(evs *[]Event, now time.Time) {
	if d.Status.Final() || slices.ContainsFunc(d.Milestones, func(m *Milestone) bool { return !m.State.Closed() }) {
		return
	}
	d.close(evs, now, SystemActor, DealWon, "every milestone of the plan is done")
}

func (d *Deal) close(evs *[]Event, now time.Time, by string, status DealStatus, reason string) {
	d.Status, d.Pause = status, nil
	d.Outcome = &Outcome{Status: status, Reason: reason, By: by, At: now}
	d.emit(evs, now, Event{Kind: EventDealClosed, Actor: by, Notify: d.Team.Members(),
		Data:    map[string]string{"outcome": string(status), "reason": reason},
		Message: fmt.Sprintf("deal %s closed as %s: %s", d.Name, status, reason)})
}

// refresh recomputes what derives from the state after every change.
func (d *Deal) refresh(now time.Time) {
	d.Version++
	d.UpdatedAt = now
	d.Next = d.nextDeadline()
	d.Metrics = ComputeMetrics(d, now)
}
