// Package workflows holds dealflow's deterministic code: the deal workflow
// and the names other packages need to talk to it (task queue, workflow IDs,
// update and query names, search attributes). Everything that decides a
// transition lives in the pure model in workflows/deal; this package only
// wires it to Temporal: updates in, one timer, activities out.
package workflows
