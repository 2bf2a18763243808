package deal

import (
	"encoding/json"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"dealflow/workflows/problem"
)

// Limits of the deal model. Text limits (problem.MaxName, MaxText, MaxLink,
// MaxKey) bound each field; these bound every list and, above all, the whole
// deal: its encoded state travels in Temporal payloads (the update result,
// the recording activity's input with the deal's new events, the
// continue-as-new input), which Temporal refuses above 2 MB and warns about
// above 512 KB. docs/limits.md lists them all with the reasons.
const (
	// MaxStateBytes bounds a deal's encoded state, counting what it may
	// still grow on its own (escalations that can fire, milestones that can
	// activate, see StateBytes). An action that would take the deal over it
	// is refused with CodeTooLarge; a plan whose deal would start over it is
	// refused at start (CheckSpec). 256 KiB holds a 200-milestone plan
	// through 1,500 actions (TestLongDealFits) and the built-in plans for
	// years, and keeps the update result and the continue-as-new input under
	// half of Temporal's warning threshold.
	MaxStateBytes = 256 << 10
	// MaxEventBytes bounds the encoded events one action (or a deal's start)
	// produces: they ride in the recording activity's input with the deal.
	MaxEventBytes = 128 << 10
	// closeHeadroom is extra room for closing a deal, so a full deal can
	// always be closed with a reason.
	closeHeadroom = 32 << 10

	// MaxChecklist bounds a milestone's checklist (its output standard) and
	// a submission's confirmed items.
	MaxChecklist = 50
	// MaxEvidence bounds the evidence links of one submission.
	MaxEvidence = 20
	// MaxReviewers bounds the parties of one review gate.
	MaxReviewers = 20
	// MaxEscalationSteps bounds the escalation steps of a milestone and the
	// plan's default steps.
	MaxEscalationSteps = 10
	// MaxDependsOn bounds one milestone's dependencies.
	MaxDependsOn = 50
	// MaxApprovers bounds the team's approvers.
	MaxApprovers = 50
	// MaxAmount bounds a deal's amount (problem.MaxAmount, the bound of
	// every amount of money).
	MaxAmount = problem.MaxAmount
)

// checkParty records a problem when p names a user whose id is not a
// one-line id of at most problem.MaxKey characters (p.check has passed).
func checkParty(ps *problems, field string, p Party) {
	if id, ok := strings.CutPrefix(string(p), userPrefix); ok {
		if msg := problem.LineError(id, problem.MaxKey); msg != "" {
			ps.Add(field, "the user id of %q %s", problem.Clip(string(p)), msg)
		}
	}
}

// checkUser records a problem when a user id is not a one-line id of at most
// problem.MaxKey characters. Whether the user exists is the API's business.
func checkUser(ps *problems, field, id string) {
	ps.Line(field, id, problem.MaxKey)
}

// checkAmount records a problem unless v is a finite amount in [0, MaxAmount].
func checkAmount(ps *problems, field string, v float64) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		ps.Add(field, "must be a finite number")
	case v < 0:
		ps.Add(field, "amount cannot be negative")
	case v > MaxAmount:
		ps.Add(field, "is %g; the limit is %g", v, float64(MaxAmount))
	}
}

// checkTime records a problem unless t is zero or an instant a plan can
// hold: within MaxDuration of the deal's now and written with a four-digit
// year (so it reads back as RFC 3339).
func checkTime(ps *problems, field string, t time.Time) {
	if !t.IsZero() && (t.Year() < 1 || t.Year() > 9999) {
		ps.Add(field, "%s is not a time a plan can hold (year 1 to 9999)", t.Format(time.RFC3339))
	}
}

// checkDue records the problems of a due time read from JSON.
func checkDue(ps *problems, field string, d Due) {
	if d.bad != "" {
		ps.Add(field, "%s", d.bad)
		return
	}
	if d.After.Std() > MaxDuration || d.After.Std() < -MaxDuration {
		ps.Add(field, "is longer than the longest span a plan takes (100 years)")
	}
	checkTime(ps, field, d.At)
}

// checkDueNear records a problem when an absolute due time is more than
// MaxDuration from now: deadlines are due times plus escalation offsets of
// up to MaxDuration, and must stay instants JSON can write (years 0-9999).
func checkDueNear(ps *problems, field string, d Due, now time.Time) {
	if d.At.IsZero() {
		return
	}
	if d.At.Sub(now) > MaxDuration || now.Sub(d.At) > MaxDuration {
		ps.Add(field, "%s is more than 100 years from now", d.At.Format(time.RFC3339))
	}
}

// --- the state bound ---------------------------------------------------------

// StateBytes is the deal's encoded size plus what it may still grow without
// any action: every escalation step that can still fire on the current due
// times, the activation of blocked milestones, the metrics and the next
// deadline of open ones. Actions that re-arm escalations (a re-date) are
// measured after they apply, so StateBytes ≤ MaxStateBytes holds after
// every allowed action and stays true while time passes.
func (d *Deal) StateBytes() int {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // a Deal always marshals
	}
	return len(b) + d.reserve()
}

// Reserved growth, in bytes. Over-estimates: a blocked milestone gains its
// activation and due times (two RFC 3339 instants), a metrics entry naming
// it and maybe a place on the late list; an open one's cycle time and
// lateness can grow to the longest span String writes (31 bytes each).
const (
	reserveDeal    = 1 << 10 // next deadline, counters, role totals
	reserveBlocked = 320
	reserveOpen    = 96
	reserveStep    = 96 // level, instant and keys of one fired escalation
)

func (d *Deal) reserve() int {
	n := reserveDeal
	if d.Status.Final() {
		return n
	}
	for _, m := range d.Milestones {
		switch {
		case m.State.Closed():
			continue
		case m.State == StateBlocked:
			n += reserveBlocked + 2*len(m.Key)
		default:
			n += reserveOpen + len(m.Key)
		}
		as := m.alarms()
		start := m.Alarms
		if m.State == StateBlocked {
			start = 0 // activation starts the line over
		}
		for i := start; i < len(as); i++ {
			if as[i].step < 0 {
				continue
			}
			s := m.Escalations[as[i].step]
			n += reserveStep + jsonStringLen(s.Message)
			for _, u := range s.Target.resolve(d.Team, d.owner(m)) {
				n += jsonStringLen(u) + 1
			}
		}
	}
	return n
}

// jsonStringLen is the length of s encoded as a JSON string by
// encoding/json: quotes, escapes, HTML-safe escapes of <, > and &, and
// U+FFFD for invalid bytes.
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// checkSize refuses a when it would grow the deal past MaxStateBytes or the
// action's events past MaxEventBytes. Most actions can only grow the deal
// by a bounded amount (growthBound); when the deal has that much room left,
// one encoding of the deal decides. Otherwise, and for plan changes (which
// can add milestones and re-arm escalations), a is tried on a copy and the
// copy measured: exact, and a few encodings of the deal dearer.
// BenchmarkCheck measures both paths.
func (d *Deal) checkSize(a Action, now time.Time) error {
	limit := MaxStateBytes
	if _, closing := a.(CloseAction); closing {
		limit += closeHeadroom
	}
	before := d.StateBytes()
	if g, ok := growthBound(d, a); ok && before+g <= limit && g <= MaxEventBytes {
		return nil
	}
	c := d.clone()
	var evs []Event
	if pc, ok := a.(PlanChange); ok {
		if err := pc.trial(c, now, &evs); err != nil {
			return err // the change itself is refused (a cycle, an op that fails)
		}
	} else {
		a.apply(c, now, &evs)
	}
	c.refresh(now)
	// Over the bound, only what grows the deal is refused: a deal that
	// started over it under older rules can still shrink and close.
	if n := c.StateBytes(); n > limit && n > before {
		return refuse(CodeTooLarge, "this change would take the deal to %d bytes; a deal holds at most %d (MaxStateBytes, see docs/limits.md): shorten the text, or put long material in an evidence link", n, limit)
	}
	return checkEventBytes(evs)
}

// growthBound bounds how much a can grow d's StateBytes and how many bytes
// of events it produces, or says it cannot cheaply (plan changes). What an
// action stores is at most its own encoding twice over (a submission or
// review entry, and its quotes in the events), plus the deal's team (a
// round's reviewers, notification lists), plus fixed fields: a done time, a
// warning, an outcome, event envelopes. Milestones it activates move from
// the blocked to the open reservation, which is smaller.
func growthBound(d *Deal, a Action) (int, bool) {
	if _, ok := a.(PlanChange); ok {
		return 0, false
	}
	ab, err := json.Marshal(a)
	if err != nil {
		return 0, false
	}
	tb, err := json.Marshal(d.Team)
	if err != nil {
		return 0, false
	}
	// Events quote milestone titles (the acted-on one in up to four: submitted,
	// done, seller ahead, closed) and notify the team; every milestone it
	// unblocks gets an activation event with its title and owner.
	var activations, title int
	for _, m := range d.Milestones {
		title = max(title, jsonStringLen(m.Title))
		if m.State == StateBlocked {
			activations += 256 + jsonStringLen(m.Title) + jsonStringLen(m.Owner) + len(m.Key)
		}
	}
	return 3*len(ab) + 4*len(tb) + 4*title + activations + 4<<10, true
}

func checkEventBytes(evs []Event) error {
	b, err := json.Marshal(evs)
	if err != nil {
		panic(err)
	}
	if len(b) > MaxEventBytes {
		return refuse(CodeTooLarge, "this change would record %d bytes of events at once; the limit is %d (MaxEventBytes, see docs/limits.md): split it into smaller changes", len(b), MaxEventBytes)
	}
	return nil
}

// tooLarge says a deal would start over the state bound.
func tooLarge(n int) error {
	return refuse(CodeTooLarge, "this plan would start a deal of %d bytes; a deal holds at most %d (MaxStateBytes, see docs/limits.md): fewer milestones, shorter text or fewer escalation steps", n, MaxStateBytes)
}

// first returns at most the first n items: once a list is over its count,
// the problems of the items past it add nothing but noise.
func first[T any](items []T, n int) []T {
	if len(items) > n {
		return items[:n]
	}
	return items
}
