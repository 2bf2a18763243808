package deal

import (
	"fmt"
	"time"
)

// DeadlineKind says what happens when a deadline falls.
type DeadlineKind string

// Deadline kinds.
const (
	DeadlineDue        DeadlineKind = "due"        // the milestone becomes overdue
	DeadlineEscalation DeadlineKind = "escalation" // an escalation step fires
	DeadlineResume     DeadlineKind = "resume"     // a pause with an end date ends
)

// Deadline is the next instant something falls due, and what fires then.
type Deadline struct {
	At        time.Time    `json:"at"`
	Kind      DeadlineKind `json:"kind"`
	Milestone string       `json:"milestone,omitempty"`
	Target    Party        `json:"target,omitempty"`
	// Summary is a one-line description, shown on the workflow's timer.
	Summary string `json:"summary"`
}

// alarm is one point on a milestone's due-time line: the due time itself
// (step -1) or one escalation step.
type alarm struct {
	offset Duration
	step   int
}

// alarms lists the milestone's alarms in firing order. The due alarm comes
// before escalation steps at the same offset: a milestone is overdue before
// anyone is told it is.
func (m *Milestone) alarms() []alarm {
	out := make([]alarm, 0, len(m.Escalations)+1)
	dueAdded := false
	for i, s := range m.Escalations {
		if !dueAdded && s.Offset >= 0 {
			out, dueAdded = append(out, alarm{step: -1}), true
		}
		out = append(out, alarm{offset: s.Offset, step: i})
	}
	if !dueAdded {
		out = append(out, alarm{step: -1})
	}
	return out
}

// nextAlarm returns the milestone's next unfired alarm and its instant.
func (m *Milestone) nextAlarm() (alarm, time.Time, bool) {
	as := m.alarms()
	if m.Alarms >= len(as) {
		return alarm{}, time.Time{}, false
	}
	a := as[m.Alarms]
	return a, m.DueAt.Add(a.offset.Std()), true
}

// resetAlarms starts the alarm line over for a new due time. Reminders whose
// time has already passed are dropped rather than fired late.
func (m *Milestone) resetAlarms(now time.Time) {
	m.Alarms, m.Overdue, m.Escalation = 0, false, 0
	for {
		a, at, ok := m.nextAlarm()
		if !ok || a.offset >= 0 || at.After(now) {
			return
		}
		m.Alarms++
	}
}

// nextDeadline finds the earliest pending deadline of the deal; ties go to
// the milestone earlier in the plan.
func (d *Deal) nextDeadline() *Deadline {
	switch {
	case d.Status.Final():
		return nil
	case d.Status == DealPaused:
		if d.Pause.Until.IsZero() {
			return nil
		}
		return &Deadline{At: d.Pause.Until, Kind: DeadlineResume, Summary: "resume the deal: pause ends"}
	}
	var best *Deadline
	for _, m := range d.Milestones {
		if !m.State.Open() {
			continue
		}
		a, at, ok := m.nextAlarm()
		if !ok || (best != nil && !at.Before(best.At)) {
			continue
		}
		if a.step < 0 {
			best = &Deadline{At: at, Kind: DeadlineDue, Milestone: m.Key, Summary: fmt.Sprintf("%s falls due", m.Key)}
			continue
		}
		s := m.Escalations[a.step]
		best = &Deadline{At: at, Kind: DeadlineEscalation, Milestone: m.Key, Target: s.Target,
			Summary: fmt.Sprintf("escalate %s to %s", m.Key, s.Target)}
	}
	return best
}

// Advance fires every deadline due at or before now, in time order, and
// returns the events. The workflow calls it when its timer fires; calling it
// early is harmless (nothing is due) and calling it late fires everything
// that was missed, each stamped with its own instant.
func (d *Deal) Advance(now time.Time) []Event {
	var evs []Event
	for {
		next := d.nextDeadline()
		if next == nil || next.At.After(now) {
			break
		}
		d.fire(&evs, next)
	}
	if len(evs) > 0 {
		d.refresh(now)
	}
	return evs
}

func (d *Deal) fire(evs *[]Event, dl *Deadline) {
	at := dl.At
	if dl.Kind == DeadlineResume {
		d.resume(evs, at, SystemActor)
		return
	}
	m := d.Milestone(dl.Milestone)
	a, _, _ := m.nextAlarm()
	m.Alarms++
	if a.step < 0 {
		m.Overdue = true
		d.emit(evs, at, Event{Kind: EventMilestoneOverdue, Actor: SystemActor, Milestone: m.Key,
			Message: fmt.Sprintf("%s is overdue (was due %s)", m.Title, m.DueAt.Format(time.RFC3339))})
		return
	}
	s := m.Escalations[a.step]
	m.Escalation++
	targets := s.Target.resolve(d.Team, d.owner(m))
	m.Escalated = append(m.Escalated, Escalation{Level: m.Escalation, At: at, Targets: targets, Message: s.Message})
	d.emit(evs, at, Event{Kind: EventEscalation, Actor: SystemActor, Milestone: m.Key, Notify: targets,
		Data:    map[string]string{"level": fmt.Sprint(m.Escalation), "target": string(s.Target), "offset": s.Offset.String()},
		Message: fmt.Sprintf("%s (%s from due, level %d, to %s): %s", m.Title, s.Offset, m.Escalation, s.Target, s.Message)})
}
