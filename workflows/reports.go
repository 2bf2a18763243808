package workflows

// The two scheduled paradigms run as short report workflows, started by a
// Temporal Schedule per funnel target or coverage program, or on demand.
const (
	FunnelReportWorkflowName   = "FunnelReport"
	CoverageReportWorkflowName = "CoverageReport"
)

// FunnelScheduleID is the schedule of one funnel target's report.
func FunnelScheduleID(targetID string) string { return "funnel/" + targetID }

// CoverageScheduleID is the schedule of one coverage program's report.
func CoverageScheduleID(programID string) string { return "coverage/" + programID }

// Report triggers, recorded on each report.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// FunnelReportInput starts a funnel report for one target.
type FunnelReportInput struct {
	TargetID string `json:"target_id"`
	Trigger  string `json:"trigger"`
}

// CoverageReportInput starts a coverage report for one program.
type CoverageReportInput struct {
	ProgramID string `json:"program_id"`
	Trigger   string `json:"trigger"`
}
