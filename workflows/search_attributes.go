package workflows

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/workflows/deal"
)

// Search attributes make deals findable in the Temporal UI and CLI, e.g.
// `DealOverdue = true AND DealPMO = "pat"`. The set fits the SQL visibility
// limits of a namespace (at most 10 Keyword and 3 each of the other types):
// 6 Keyword, 1 KeywordList, 1 Double, 1 Bool, 1 Datetime.
var (
	AttrDealID       = temporal.NewSearchAttributeKeyKeyword("DealId")
	AttrCustomer     = temporal.NewSearchAttributeKeyKeyword("DealCustomer")
	AttrStatus       = temporal.NewSearchAttributeKeyKeyword("DealStatus")
	AttrStage        = temporal.NewSearchAttributeKeyKeywordList("DealStage")
	AttrPMO          = temporal.NewSearchAttributeKeyKeyword("DealPMO")
	AttrAmount       = temporal.NewSearchAttributeKeyFloat64("DealAmount")
	AttrOverdue      = temporal.NewSearchAttributeKeyBool("DealOverdue")
	AttrBuyerStage   = temporal.NewSearchAttributeKeyKeyword("DealBuyerStage")
	AttrNextDeadline = temporal.NewSearchAttributeKeyTime("DealNextDeadline")
	AttrTemplate     = temporal.NewSearchAttributeKeyKeyword("DealTemplate")
)

// SearchAttributes maps each attribute's name to its type name as the
// Temporal CLI and operator API spell it, for registration.
func SearchAttributes() map[string]string {
	return map[string]string{
		AttrDealID.GetName():       "Keyword",
		AttrCustomer.GetName():     "Keyword",
		AttrStatus.GetName():       "Keyword",
		AttrStage.GetName():        "KeywordList",
		AttrPMO.GetName():          "Keyword",
		AttrAmount.GetName():       "Double",
		AttrOverdue.GetName():      "Bool",
		AttrBuyerStage.GetName():   "Keyword",
		AttrNextDeadline.GetName(): "Datetime",
		AttrTemplate.GetName():     "Keyword",
	}
}

// searchState is the subset of the deal that the search attributes show.
// Comparing it with what was last upserted avoids an upsert (a history
// event) when nothing visible changed.
type searchState struct {
	Status     string
	Stage      []string
	PMO        string
	Customer   string
	Amount     float64
	Overdue    bool
	BuyerStage string
	Next       int64 // unix nanoseconds; 0 = none
	Template   string
}

func searchStateOf(d *deal.Deal) searchState {
	s := searchState{
		Status: string(d.Status), Stage: d.ActiveKeys(), PMO: d.Team.PMO, Customer: d.Customer,
		Amount: d.Amount, Overdue: d.Overdue(), BuyerStage: string(d.BuyerStage), Template: d.Template,
	}
	if d.Next != nil {
		s.Next = d.Next.At.UnixNano()
	}
	return s
}

func (s searchState) equal(o searchState) bool {
	return slices.Equal(s.Stage, o.Stage) && s.Status == o.Status && s.PMO == o.PMO &&
		s.Customer == o.Customer && s.Amount == o.Amount && s.Overdue == o.Overdue &&
		s.BuyerStage == o.BuyerStage && s.Next == o.Next && s.Template == o.Template
}

// searchStateFrom reads a searchState back from search attributes.
func searchStateFrom(sa temporal.SearchAttributes) searchState {
	var s searchState
	s.Status, _ = sa.GetKeyword(AttrStatus)
	s.Stage, _ = sa.GetKeywordList(AttrStage)
	s.PMO, _ = sa.GetKeyword(AttrPMO)
	s.Customer, _ = sa.GetKeyword(AttrCustomer)
	s.Amount, _ = sa.GetFloat64(AttrAmount)
	s.Overdue, _ = sa.GetBool(AttrOverdue)
	s.BuyerStage, _ = sa.GetKeyword(AttrBuyerStage)
	s.Template, _ = sa.GetKeyword(AttrTemplate)
	if next, ok := sa.GetTime(AttrNextDeadline); ok {
		s.Next = next.UnixNano()
	}
	return s
}

// searchAttributes are the attribute values that show deal d; a deal with
// no pending deadline has DealNextDeadline unset.
func searchAttributes(d *deal.Deal) []temporal.SearchAttributeUpdate {
	next := AttrNextDeadline.ValueUnset()
	if d.Next != nil {
		next = AttrNextDeadline.ValueSet(d.Next.At)
	}
	return append(knownSearchAttributes(d), next)
}

// knownSearchAttributes are the values deal d always has: all but
// DealNextDeadline.
func knownSearchAttributes(d *deal.Deal) []temporal.SearchAttributeUpdate {
	s := searchStateOf(d)
	return []temporal.SearchAttributeUpdate{
		AttrDealID.ValueSet(d.ID),
		AttrCustomer.ValueSet(s.Customer),
		AttrStatus.ValueSet(s.Status),
		AttrStage.ValueSet(s.Stage),
		AttrPMO.ValueSet(s.PMO),
		AttrAmount.ValueSet(s.Amount),
		AttrOverdue.ValueSet(s.Overdue),
		AttrBuyerStage.ValueSet(s.BuyerStage),
		AttrTemplate.ValueSet(s.Template),
	}
}

// upsertSearchAttributes writes the deal's search attributes if they
// changed: since the last call (runs before versionStartAttributes), or from
// what the workflow holds — those set at start and, after continue-as-new,
// those the previous run left.
func (r *dealRun) upsertSearchAttributes(ctx workflow.Context) error {
	now := searchStateOf(r.deal)
	last := r.searched
	if r.version >= versionStartAttributes {
		held := searchStateFrom(workflow.GetTypedSearchAttributes(ctx))
		last = &held
	}
	if last != nil && last.equal(now) {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchAttributes(r.deal)...); err != nil {
		return err
	}
	r.searched = &now
	return nil
}
