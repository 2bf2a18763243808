package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"dealflow/api/apitest"
	"dealflow/workflows/deal"
)

// TestIdempotencyKey: an action retried with the same Idempotency-Key is
// applied once and answers the same state; a new key is a new action.
func TestIdempotencyKey(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.teamDeal("idem")
	send := func(key string) (int, apitest.DealView) {
		body, _ := json.Marshal(map[string]any{"stage": "contact_added", "note": "first call"})
		req, _ := http.NewRequest("POST", s.Server.URL+"/v1/deals/idem/buyer-stage", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Tokens["cora"])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d apitest.DealView
		_ = json.NewDecoder(resp.Body).Decode(&d)
		return resp.StatusCode, d
	}
	status1, first := send("retry-me-1")
	status2, again := send("retry-me-1")
	if status1 != http.StatusOK || status2 != http.StatusOK {
		t.Fatalf("statuses %d, %d", status1, status2)
	}
	if first.Version != again.Version || first.Seq != again.Seq || again.BuyerStage != deal.BuyerContactAdded {
		t.Errorf("retry answered v%d seq %d, first v%d seq %d", again.Version, again.Seq, first.Version, first.Seq)
	}
	if n := len(s.Deal("root", "idem").Buyer); n != 1 {
		t.Errorf("buyer stage recorded %d times", n)
	}
	// A different key is a different action: recording the same stage again
	// is refused by the deal.
	if status, _ := send("retry-me-2"); status != http.StatusConflict {
		t.Errorf("a new key with the same stage answered %d, want 409", status)
	}
}
