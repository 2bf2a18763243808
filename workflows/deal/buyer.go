package deal

import (
	"fmt"
	"slices"
	"strings"
)

// BuyerStage is where the customer stands in its own decision process, the
// right-hand column of the paired sales/decision processes. Stages are
// ordered; judging the buyer's stage is the basis for predicting the close.
type BuyerStage string

// The buyer's decision stages, in order. Pair 2 of the sources ("met a
// non-decision-maker → met the decision-maker") is two stages.
const (
	BuyerContactAdded        BuyerStage = "contact_added"
	BuyerMetNonDecisionMaker BuyerStage = "met_non_decision_maker"
	BuyerMetDecisionMaker    BuyerStage = "met_decision_maker"
	BuyerNeedsConfirmed      BuyerStage = "needs_confirmed"
	BuyerEvaluating          BuyerStage = "evaluating"
	BuyerNegotiating         BuyerStage = "negotiating"
	BuyerDepositPaid         BuyerStage = "deposit_paid"
	BuyerPaidInFull          BuyerStage = "paid_in_full"
	BuyerReferral            BuyerStage = "referral"
	BuyerRepurchase          BuyerStage = "repurchase"
)

// BuyerStages lists the stages in order.
var BuyerStages = []BuyerStage{
	BuyerContactAdded, BuyerMetNonDecisionMaker, BuyerMetDecisionMaker,
	BuyerNeedsConfirmed, BuyerEvaluating, BuyerNegotiating, BuyerDepositPaid,
	BuyerPaidInFull, BuyerReferral, BuyerRepurchase,
}

// Rank is the stage's position (1-based); 0 for no stage or an unknown one.
func (s BuyerStage) Rank() int { return slices.Index(BuyerStages, s) + 1 }

func (s BuyerStage) check() error {
	if s.Rank() == 0 {
		names := make([]string, len(BuyerStages))
		for i, b := range BuyerStages {
			names[i] = string(b)
		}
		return fmt.Errorf("unknown buyer stage %q: use one of %s", s, strings.Join(names, ", "))
	}
	return nil
}
