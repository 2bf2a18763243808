package store_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// refuseDeal makes Postgres refuse, for good, every audit event of one deal
// (a check_violation raised by a trigger), as a constraint or a bad value
// would; the returned func repairs it.
func refuseDeal(t *testing.T, s *store.Store, dealID, code string) (repair func()) {
	t.Helper()
	db := s.DB()
	if _, err := db.ExecContext(t.Context(), `
CREATE OR REPLACE FUNCTION refuse_deal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.deal_id = TG_ARGV[0] THEN
		RAISE EXCEPTION 'refused for the test' USING ERRCODE = TG_ARGV[1];
	END IF;
	RETURN NEW;
END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER refuse_deal BEFORE INSERT ON audit_events
		FOR EACH ROW EXECUTE FUNCTION refuse_deal('`+dealID+`', '`+code+`')`); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), `DROP TRIGGER refuse_deal ON audit_events`); err != nil {
			t.Fatal(err)
		}
	}
}

// expectedOutbox counts the outbox rows events make: one per distinct
// recipient of each.
func expectedOutbox(evs []deal.Event) int {
	n := 0
	for _, e := range evs {
		seen := map[string]bool{}
		for _, r := range e.Notify {
			if r != "" && !seen[r] {
				seen[r] = true
				n++
			}
		}
	}
	return n
}

// TestRecordOrParkKeepsRefusedChanges: a change Postgres refuses for good is
// parked, not dropped; later changes of the deal park behind it (other deals
// are unaffected); every admin is told once; after the repair, a replay
// records every parked change, and the audit trail, read model and outbox
// hold each event exactly once.
func TestRecordOrParkKeepsRefusedChanges(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, u := range []store.User{
		{ID: "root", Name: "Root", Roles: []store.Role{store.RoleAdmin}},
		{ID: "ops", Name: "Ops", Roles: []store.Role{store.RoleAdmin, store.RolePMO}},
		{ID: "viewer", Name: "Viewer", Roles: []store.Role{store.RoleViewer}},
	} {
		if _, err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	d, evs := newDeal(t, "acme-park", t0)
	all := append([]deal.Event(nil), evs...)
	if out, err := s.RecordOrPark(ctx, d, evs); err != nil || out.Parked != 0 {
		t.Fatalf("first change: %+v, %v", out, err)
	}

	repair := refuseDeal(t, s, d.ID, "23514")
	evs = submit(t, d, "prospect", "carol", t0.Add(time.Hour))
	all = append(all, evs...)
	out, err := s.RecordOrPark(ctx, clone(t, d), evs)
	if err != nil || out.Parked != 1 || !out.ParkedNow || !strings.Contains(out.Error, "refused for the test") {
		t.Fatalf("refused change: %+v, %v; want it parked", out, err)
	}
	// A later change parks behind it, even though it alone would pass.
	evs, err = d.Apply(deal.BuyerStageAction{Acting: deal.Acting{Actor: "carol"}, Stage: deal.BuyerNegotiating}, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, evs...)
	if out, err = s.RecordOrPark(ctx, clone(t, d), evs); err != nil || out.Parked != 2 || !out.ParkedNow {
		t.Fatalf("later change: %+v, %v; want it parked behind", out, err)
	}
	// The workflow's retry (no events) adds nothing; a retried activity
	// does not park its change twice.
	if out, err = s.RecordOrPark(ctx, clone(t, d), nil); err != nil || out.Parked != 2 || out.ParkedNow {
		t.Fatalf("retry without events: %+v, %v", out, err)
	}
	if out, err = s.RecordOrPark(ctx, clone(t, d), evs); err != nil || out.Parked != 2 || out.ParkedNow {
		t.Fatalf("activity retried: %+v, %v", out, err)
	}
	// Another deal records as usual.
	other, oevs := newDeal(t, "acme-other", t0)
	if out, err := s.RecordOrPark(ctx, other, oevs); err != nil || out.Parked != 0 {
		t.Fatalf("other deal: %+v, %v", out, err)
	}

	st, err := s.RecordingStatusOf(ctx, d.ID)
	if err != nil || st == nil || st.Parked != 2 || st.Since.IsZero() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if list, err := s.ListParked(ctx); err != nil || len(list) != 2 || list[0].Version >= list[1].Version || list[0].Attempts < 2 {
		t.Fatalf("ListParked: %+v, %v", list, err)
	}
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE deal_id = 'recording/acme-park' AND kind = $1`, store.AdminNoticeKind); n != 2 {
		t.Errorf("admin notices: %d, want one to each of the 2 admins", n)
	}
	// Still refused: a replay keeps everything parked.
	if out, err := s.ReplayParked(ctx, d.ID); err != nil || out.Parked != 2 || out.Replayed != 0 {
		t.Fatalf("replay before repair: %+v, %v", out, err)
	}

	repair()
	out, err = s.ReplayParked(ctx, d.ID)
	if err != nil || out.Parked != 0 || out.Replayed != 2 {
		t.Fatalf("replay after repair: %+v, %v", out, err)
	}
	if st, err := s.RecordingStatusOf(ctx, d.ID); err != nil || st != nil {
		t.Fatalf("status after replay: %+v, %v", st, err)
	}
	assertComplete(t, s, d, all)
	// Replaying again, or the workflow's retry, changes nothing.
	if out, err := s.RecordOrPark(ctx, clone(t, d), nil); err != nil || out.Parked != 0 {
		t.Fatalf("after repair: %+v, %v", out, err)
	}
	assertComplete(t, s, d, all)
}

// assertComplete checks the deal's audit trail is seq 1..N, each once, the
// read model is at the deal's version, and the outbox has each
// notification once.
func assertComplete(t *testing.T, s *store.Store, d *deal.Deal, all []deal.Event) {
	t.Helper()
	if n := count(t, s, `SELECT count(*) FROM audit_events WHERE deal_id = $1`, d.ID); n != len(all) || int64(n) != d.Seq {
		t.Errorf("audit events: %d, want %d (seq %d)", n, len(all), d.Seq)
	}
	if n := count(t, s, `SELECT count(DISTINCT seq) FROM audit_events WHERE deal_id = $1 AND seq BETWEEN 1 AND $2`, d.ID, d.Seq); int64(n) != d.Seq {
		t.Errorf("audit seqs 1..%d: %d distinct", d.Seq, n)
	}
	if v := count(t, s, `SELECT version FROM deals WHERE id = $1`, d.ID); int64(v) != d.Version {
		t.Errorf("read model at version %d, want %d", v, d.Version)
	}
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE deal_id = $1`, d.ID); n != expectedOutbox(all) {
		t.Errorf("outbox rows: %d, want %d", n, expectedOutbox(all))
	}
}

// TestRecordOrParkRetriesForeignKeyRace: a foreign-key violation (what a
// delete racing the recording causes) is returned to be retried, not
// parked and not ErrInvalidChange.
func TestRecordOrParkRetriesForeignKeyRace(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-fk", t0)
	repair := refuseDeal(t, s, d.ID, "23503")
	out, err := s.RecordOrPark(t.Context(), d, evs)
	if err == nil || errors.Is(err, store.ErrInvalidChange) || out.Parked != 0 {
		t.Fatalf("FK race: %+v, %v; want a retryable error", out, err)
	}
	if err := s.RecordChange(t.Context(), d, evs); err == nil || errors.Is(err, store.ErrInvalidChange) {
		t.Fatalf("RecordChange on an FK race: %v; want a retryable error", err)
	}
	if n := count(t, s, `SELECT count(*) FROM parked_changes`); n != 0 {
		t.Errorf("%d changes parked by an FK race", n)
	}
	repair()
	if out, err := s.RecordOrPark(t.Context(), d, evs); err != nil || out.Parked != 0 {
		t.Fatalf("retry: %+v, %v", out, err)
	}
	assertComplete(t, s, d, evs)
}

// TestRecordCleansNUL: Postgres' text and jsonb cannot hold U+0000, and a
// deal started before the model refused it may carry one. The store writes
// U+FFFD instead, so such a deal records; an escaped backslash before
// "u0000" is text, and stays as it is.
func TestRecordCleansNUL(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-nul", t0, func(sp *deal.DealSpec) { sp.Name = "Deal \x00 one" })
	evs = append(evs, submit(t, d, "prospect", "carol", t0.Add(time.Hour))...)
	evs[len(evs)-1].Message = "x\x00y \\u0000 bad \xff utf8"
	evs[len(evs)-1].Data = map[string]string{"note": "a\x00b"}
	if out, err := s.RecordOrPark(t.Context(), d, evs); err != nil || out.Parked != 0 {
		t.Fatalf("RecordOrPark: %+v, %v", out, err)
	}
	var name, stateName, msg, note string
	if err := s.DB().QueryRowContext(t.Context(), `SELECT name, state->>'name' FROM deals WHERE id = $1`, d.ID).Scan(&name, &stateName); err != nil {
		t.Fatal(err)
	}
	if name != "Deal \uFFFD one" || stateName != name {
		t.Errorf("name %q, state name %q", name, stateName)
	}
	if err := s.DB().QueryRowContext(t.Context(), `SELECT message, data->>'note' FROM audit_events WHERE deal_id = $1 AND seq = $2`,
		d.ID, evs[len(evs)-1].Seq).Scan(&msg, &note); err != nil {
		t.Fatal(err)
	}
	if msg != "x\uFFFDy \\u0000 bad \uFFFD utf8" || note != "a\uFFFDb" {
		t.Errorf("message %q, note %q", msg, note)
	}
	assertComplete(t, s, d, evs)
}

// TestRecordOrParkRetriesRealForeignKeyRace reproduces the race itself: a
// coverage account is deleted while the recording copies a solution review
// to its program (a trigger deletes it between the recording's read of the
// account and the foreign-key check). Postgres answers 23503; the recording
// is retried, not parked; the retry, after the delete, writes the deal's
// events and nothing for the deleted account.
func TestRecordOrParkRetriesRealForeignKeyRace(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	if _, err := s.ImportAccounts(ctx, "east", []coverage.Account{{ID: "a-1", Name: "ACME"}}); err != nil {
		t.Fatal(err)
	}
	d, evs := newDeal(t, "acme-race", t0)
	now := t0
	for _, key := range []string{"prospect", "needs-analysis"} {
		now = now.Add(time.Hour)
		evs = append(evs, submit(t, d, key, "carol", now)...)
	}
	all := slices.Clone(evs)
	if out, err := s.RecordOrPark(ctx, d, evs); err != nil || out.Parked != 0 {
		t.Fatalf("%+v, %v", out, err)
	}
	for _, q := range []string{`
CREATE FUNCTION delete_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM coverage_accounts WHERE program_id = NEW.program_id AND id = NEW.account_id;
	RETURN NEW;
END $$`, `CREATE TRIGGER delete_account BEFORE INSERT ON coverage_events FOR EACH ROW EXECUTE FUNCTION delete_account()`} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	evs = submit(t, d, "solution-design", "sam", now.Add(time.Hour))
	all = append(all, evs...)
	out, err := s.RecordOrPark(ctx, clone(t, d), evs)
	if err == nil || errors.Is(err, store.ErrInvalidChange) || !strings.Contains(err.Error(), "23503") || out.Parked != 0 {
		t.Fatalf("FK race: %+v, %v; want a retryable foreign-key violation", out, err)
	}
	if n := count(t, s, `SELECT count(*) FROM parked_changes`); n != 0 {
		t.Errorf("%d changes parked by an FK race", n)
	}
	// The delete commits; the retry finds the account gone.
	if _, err := s.DB().ExecContext(ctx, `DROP TRIGGER delete_account ON coverage_events`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM coverage_accounts WHERE program_id = 'east' AND id = 'a-1'`); err != nil {
		t.Fatal(err)
	}
	if out, err := s.RecordOrPark(ctx, clone(t, d), evs); err != nil || out.Parked != 0 {
		t.Fatalf("retry: %+v, %v", out, err)
	}
	assertComplete(t, s, d, all)
}

// TestRecordOrParkParksProgramLimits: a value past one of Postgres' limits
// (here a deal name too long for the name index) is refused every time,
// like a constraint: it is parked, not retried forever.
func TestRecordOrParkParksProgramLimits(t *testing.T) {
	s := newStore(t)
	random := make([]byte, 9000) // incompressible
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	d, evs := newDeal(t, "acme-long", t0, func(sp *deal.DealSpec) { sp.Name = base64.StdEncoding.EncodeToString(random) })
	out, err := s.RecordOrPark(t.Context(), d, evs)
	if err != nil || out.Parked != 1 || !strings.Contains(out.Error, "54000") {
		t.Fatalf("a name past the index limit: %+v, %v; want it parked (54000)", out, err)
	}
}
