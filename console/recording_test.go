package console_test

import (
	"dealflow/api/apitest"
	"net/http"
	"testing"
)

// TestDealPageWarnsWhileRecordBehind: while the store holds changes of the
// deal parked (refused), the deal page says so, with the command that
// replays them; once they are gone, the warning is too.
func TestDealPageWarnsWhileRecordBehind(t *testing.T) {
	s := newStack(t)
	s.team()
	s.startDeal("behind-erp", "Behind ERP", "Initech")
	apitest.Eventually(t, "the deal recorded", func() bool {
		_, err := s.Store.GetDeal(t.Context(), "behind-erp")
		return err == nil
	})
	b := newBrowserless(t, s)
	b.signIn(s.Tokens["pat"])
	if _, err := s.Store.DB().ExecContext(t.Context(), `INSERT INTO parked_changes (deal_id, version, events, change, error)
		VALUES ('behind-erp', 99, 1, convert_to('{}', 'UTF8'), 'pq: refused for the test')`); err != nil {
		t.Fatal(err)
	}
	status, body := b.get("/console/deals/behind-erp")
	if status != http.StatusOK || !contains(body, `id="recording-behind"`, "Record behind", "1 change of this deal", "dealflow recordings retry behind-erp", "pq: refused for the test") {
		t.Errorf("deal page with a parked change: %d\n%s", status, body)
	}
	if _, err := s.Store.DB().ExecContext(t.Context(), `DELETE FROM parked_changes`); err != nil {
		t.Fatal(err)
	}
	status, body = b.get("/console/deals/behind-erp")
	if status != http.StatusOK || contains(body, "recording-behind") {
		t.Errorf("deal page with its record complete: %d\n%s", status, body)
	}
}
