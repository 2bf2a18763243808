// Package funnel is the pure model of the probability paradigm (deal and
// coverage are the other two): a revenue target for a team or a rep over a
// period and its validation (NewTarget), calendar days (Date), working
// weekdays and holidays, the working-day calendar and the window a report
// counts, the needs formulas that turn a target into leads and activities
// per working day (Plan), and the shape of a funnel report (Report and its
// parts), which the API answers as it is.
//
// It imports neither Temporal nor SQL and does no I/O: the time a report
// is made is passed in, and the store keeps targets and computes reports
// in Postgres, converting its rows to these types. Its needs formulas exist
// once in Go, here; the store's report SQL computes the same figures, and
// a store test holds the two together.
//
// It imports nothing of ours but package problem, the problem type and text
// rules every model shares.
package funnel
