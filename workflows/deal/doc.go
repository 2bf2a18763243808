// Package deal is the pure model of a project-type deal (the project
// paradigm; funnel and coverage are the other two): templates and their
// validation, the milestone state machine, deadlines and escalations, the
// buyer's decision process, and the metrics derived from a deal's state.
//
// It imports neither Temporal nor SQL. Every transition takes "now" as an
// argument, so the deal workflow can drive it with workflow time and tests can
// drive it with any clock. The workflow package wires this model to Temporal;
// it never decides a transition itself.
//
// It imports nothing of ours but package problem, the problem type and text
// rules every model shares.
package deal
