package coverage

import "time"

// UntouchedListCap bounds the untouched accounts a report lists; the report
// always has their total.
const UntouchedListCap = 100

// Counts are what a report's figures are computed from.
type Counts struct {
	Accounts           int `json:"accounts"`
	AccountsCovered    int `json:"accounts_covered"`
	AccountsTouched    int `json:"accounts_touched"`
	AccountsQualified  int `json:"accounts_qualified"`
	AccountsSigned     int `json:"accounts_signed"`
	SolutionsSubmitted int `json:"solutions_submitted"`
	SolutionsReviewed  int `json:"solutions_reviewed"`
	SolutionsFirstPass int `json:"solutions_first_pass"`
}

// Rates are the report's figures; nil when the denominator is 0 (no
// accounts, no solution reviewed yet).
type Rates struct {
	CoverageRate    *float64 `json:"coverage_rate"`
	TouchRate       *float64 `json:"touch_rate"`
	PenetrationRate *float64 `json:"penetration_rate"`
	SigningRate     *float64 `json:"signing_rate"`
	FirstPassRate   *float64 `json:"first_pass_rate"`
}

// ReportTargets are the program's targets when the report ran.
type ReportTargets struct {
	CoverageRate  float64 `json:"coverage_rate"`
	SigningRate   float64 `json:"signing_rate"`
	FirstPassRate float64 `json:"first_pass_rate"`
}

// UntouchedAccount is an account nobody touched in the report's window.
type UntouchedAccount struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	// LastTouch is nil for an account never touched.
	LastTouch *time.Time `json:"last_touch"`
}

// Untouched is the report's list of untouched accounts: the longest
// untouched first (never touched before anything else), at most
// UntouchedListCap of them, and how many there are in all.
type Untouched struct {
	Total    int                `json:"total"`
	Accounts []UntouchedAccount `json:"accounts,omitempty"`
}

// Report is one stored run of a program's coverage report.
type Report struct {
	ID            int64           `json:"id"`
	ProgramID     string          `json:"program_id"`
	Trigger       string          `json:"trigger"`
	AsOf          time.Time       `json:"as_of"`
	CreatedAt     time.Time       `json:"created_at"`
	UntouchedDays int             `json:"untouched_days"`
	Counts        Counts          `json:"counts"`
	Rates         Rates           `json:"rates"`
	Targets       ReportTargets   `json:"targets"`
	Untouched     Untouched       `json:"untouched"`
	Leads         map[Team]string `json:"leads"`
}
