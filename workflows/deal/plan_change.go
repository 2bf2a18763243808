package deal

import (
	"fmt"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// PlanOpKind names one kind of plan change.
type PlanOpKind string

// Plan change operations.
const (
	OpAdd      PlanOpKind = "add"
	OpRedate   PlanOpKind = "redate"
	OpReassign PlanOpKind = "reassign"
	OpSkip     PlanOpKind = "skip"
)

// PlanOp is one change to the plan. Which fields apply depends on Op:
// add takes Milestone; redate takes Key and Due (a span counts from the
// milestone's activation); reassign takes Key and Owner; skip takes Key and
// Reason.
type PlanOp struct {
	Op        PlanOpKind     `json:"op"`
	Key       string         `json:"key,omitempty"`
	Milestone *MilestoneSpec `json:"milestone,omitempty"`
	Due       *Due           `json:"due,omitempty"`
	Owner     string         `json:"owner,omitempty"`
	Reason    string         `json:"reason,omitempty"`
}

// PlanChange applies several operations as one: all of them or none.
type PlanChange struct {
	Acting
	Ops []PlanOp `json:"ops"`
}

// MaxPlanOps bounds one change.
const MaxPlanOps = 100

func (a PlanChange) validate(ps *problems) {
	ps.Count("ops", len(a.Ops), MaxPlanOps)
	for i, op := range first(a.Ops, MaxPlanOps) {
		field := fmt.Sprintf("ops[%d]", i)
		ps.Line(field+".op", string(op.Op), maxWord)
		ps.Line(field+".key", op.Key, problem.MaxKey)
		if op.Milestone != nil {
			specLimits(ps, field+".milestone", *op.Milestone)
		}
		if op.Due != nil {
			checkDue(ps, field+".due", *op.Due)
		}
		if op.Owner != "" {
			checkUser(ps, field+".owner", op.Owner)
		}
		ps.Text(field+".reason", op.Reason, problem.MaxText)
	}
}

func (a PlanChange) check(d *Deal, now time.Time) error {
	if err := a.preconditions(d); err != nil {
		return err
	}
	// Try the change on a copy: the only sure way to know that the plan as a
	// whole stays valid (no cycles, every milestone staffed).
	var evs []Event
	return a.try(d.clone(), now, &evs)
}

// preconditions is check without the try: Deal.Check tries the change once,
// in its size check (see trial), instead of twice.
func (a PlanChange) preconditions(d *Deal) error {
	if err := d.requirePMO(a.Actor, "change the plan"); err != nil {
		return err
	}
	if err := d.requireOpen(); err != nil {
		return err
	}
	if len(a.Ops) == 0 {
		return refuse(CodeInvalid, "ops is empty: give at least one of add, redate, reassign, skip")
	}
	if len(a.Ops) > MaxPlanOps {
		return refuse(CodeInvalid, "ops: has %d items; the limit is %d", len(a.Ops), MaxPlanOps)
	}
	return nil
}

// dueLimits records the due times of the change that lie more than
// MaxDuration from now (see checkDueNear).
func (a PlanChange) dueLimits(ps *problems, now time.Time) {
	for i, op := range first(a.Ops, MaxPlanOps) {
		if op.Due != nil {
			checkDueNear(ps, fmt.Sprintf("ops[%d].due", i), *op.Due, now)
		}
		if op.Milestone != nil {
			checkDueNear(ps, fmt.Sprintf("ops[%d].milestone.due", i), op.Milestone.Due, now)
		}
	}
}

// trial applies the change to c, a copy of the deal, as apply would, or
// says why it cannot apply.
func (a PlanChange) trial(c *Deal, now time.Time, evs *[]Event) error {
	if err := a.try(c, now, evs); err != nil {
		return err
	}
	c.activateReady(evs, now)
	c.completeIfPlanDone(evs, now)
	return nil
}

func (a PlanChange) apply(d *Deal, now time.Time, evs *[]Event) {
	if err := a.try(d, now, evs); err != nil {
		panic(fmt.Sprintf("plan change passed its check but failed to apply: %v", err))
	}
	d.activateReady(evs, now)
	d.completeIfPlanDone(evs, now)
}

// try applies every op to d in order, stopping at the first error.
func (a PlanChange) try(d *Deal, now time.Time, evs *[]Event) error {
	for i, op := range a.Ops {
		if err := op.apply(d, now, a.Actor, evs); err != nil {
			ae := err.(*ActionError)
			return refuse(ae.Code, "ops[%d] (%s): %s", i, op.Op, ae.Message)
		}
	}
	specs := make([]MilestoneSpec, len(d.Milestones))
	for i, m := range d.Milestones {
		specs[i] = m.MilestoneSpec
	}
	if cycle := findCycle(specs); cycle != nil {
		return refuse(CodeInvalid, "the change creates a dependency cycle: %s", strings.Join(cycle, " → "))
	}
	return nil
}

func (op PlanOp) apply(d *Deal, now time.Time, actor string, evs *[]Event) error {
	if op.Op == OpAdd {
		return op.add(d, now, actor, evs)
	}
	m, err := d.findMilestone(op.Key)
	if err != nil {
		return err
	}
	if m.State.Closed() {
		return refuse(CodeConflict, "%s is %s; only milestones not yet done can change", m.Key, m.State)
	}
	switch op.Op {
	case OpRedate:
		return op.redate(d, m, now, actor, evs)
	case OpReassign:
		if strings.TrimSpace(op.Owner) == "" {
			return refuse(CodeInvalid, "owner is required to reassign %s", m.Key)
		}
		from := d.owner(m)
		m.Owner = op.Owner
		if m.Submission != nil && m.Reviewers != nil {
			// Nobody reviews their own work: a round under review drops its
			// new owner from the reviewers when others remain.
			m.Reviewers = d.roundReviewers(m, m.Submission.By)
		}
		d.emit(evs, now, Event{Kind: EventMilestoneReassign, Actor: actor, Milestone: m.Key, Notify: []string{op.Owner},
			Data:    map[string]string{"from": from, "to": op.Owner},
			Message: fmt.Sprintf("%s reassigned from %s to %s", m.Title, from, op.Owner)})
	case OpSkip:
		if strings.TrimSpace(op.Reason) == "" {
			return refuse(CodeInvalid, "reason is required to skip %s", m.Key)
		}
		m.State, m.DoneAt, m.SkipReason = StateSkipped, now, op.Reason
		d.emit(evs, now, Event{Kind: EventMilestoneSkipped, Actor: actor, Milestone: m.Key,
			Data: map[string]string{"reason": op.Reason}, Message: fmt.Sprintf("%s skipped: %s", m.Title, op.Reason)})
	default:
		return refuse(CodeInvalid, "unknown op %q: use add, redate, reassign or skip", op.Op)
	}
	return nil
}

func (op PlanOp) add(d *Deal, now time.Time, actor string, evs *[]Event) error {
	if op.Milestone == nil {
		return refuse(CodeInvalid, "milestone is required to add a milestone")
	}
	spec := *op.Milestone
	var ps problems
	checkSpec(&ps, "milestone", spec, false)
	if d.Milestone(spec.Key) != nil {
		ps.Add("milestone.key", "duplicate key %q: the deal already has it", spec.Key)
	}
	for _, dep := range spec.DependsOn {
		if d.Milestone(dep) == nil {
			ps.Add("milestone.depends_on", "unknown milestone %q", dep)
		}
	}
	if !spec.Due.At.IsZero() && !spec.Due.At.After(now) {
		ps.Add("milestone.due", "due %s is already past", spec.Due)
	}
	m := d.newMilestone(spec)
	d.checkMilestoneStaffing(&ps, m)
	if len(ps) > 0 {
		return refuse(CodeInvalid, "%s", ps.Err().Error())
	}
	if len(d.Milestones) >= MaxMilestones {
		return refuse(CodeInvalid, "a plan has at most %d milestones", MaxMilestones)
	}
	d.Milestones = append(d.Milestones, m)
	d.emit(evs, now, Event{Kind: EventMilestoneAdded, Actor: actor, Milestone: m.Key,
		Message: fmt.Sprintf("milestone %s added (due %s)", m.Title, m.Due)})
	return nil
}

func (op PlanOp) redate(d *Deal, m *Milestone, now time.Time, actor string, evs *[]Event) error {
	if op.Due == nil || op.Due.IsZero() {
		return refuse(CodeInvalid, "due is required to re-date %s", m.Key)
	}
	if op.Due.At.IsZero() && op.Due.After <= 0 {
		return refuse(CodeInvalid, "due %s must be a positive span", op.Due.After)
	}
	if !op.Due.At.IsZero() && !op.Due.At.After(now) {
		return refuse(CodeInvalid, "the new due time %s for %s is already past", op.Due, m.Key)
	}

	m.Due = *op.Due
	if m.State.Open() {
		m.DueAt = m.Due.From(m.ActivatedAt)
		if !m.DueAt.After(now) {
			return refuse(CodeInvalid, "the new due time %s for %s is already past", m.DueAt.Format(time.RFC3339), m.Key)
		}
		m.resetAlarms(now)
	}
	d.emit(evs, now, Event{Kind: EventMilestoneRedated, Actor: actor, Milestone: m.Key,
		Data:    map[string]string{"due": m.Due.String()},
		Message: fmt.Sprintf("%s re-dated to %s", m.Title, m.Due)})
	return nil
}
