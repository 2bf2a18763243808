// Package coverage is the pure model of the behaviour paradigm (deals are
// the project paradigm, funnel the probability one): named-account coverage
// programs, where three teams — SDR, BD and presales — work a fixed list of
// accounts and record what they did as events, and a scheduled report
// measures coverage, signing and solution first-pass rates.
//
// It holds a Program (schedule, targets, teams) with its normalisation and
// validation, every problem as a *problem.Error; the Account and its checks;
// the Event, its kinds and the team that records each kind, and its checks;
// the authorship rule (who may post which event in whose name); the events
// that reviews in project deals stand for; and the shape of a Report.
//
// It imports neither Temporal nor SQL and does no I/O: the store keeps
// programs, accounts, events and reports in Postgres and converts its rows
// to and from these types. It imports nothing of ours but package problem,
// and package deal only where events are taken from deal reviews
// (DealReviews reads a deal's milestones and events).
package coverage
