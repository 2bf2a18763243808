-- The probability paradigm: funnel targets, the activities and leads that
-- feed them, and the reports a scheduled workflow computes here in SQL.

-- A revenue target for a team or a rep over a period, with the funnel
-- assumptions that turn it into leads and activities per working day.
-- Working days are the weekdays listed (0 = Sunday .. 6 = Saturday, as
-- Postgres' EXTRACT(dow) and Temporal's DayOfWeek count them) minus the
-- holidays, in time_zone (IANA). The Temporal Schedule funnel/<id> runs the
-- report at run_at (HH:MM) on each working day.
CREATE TABLE funnel_targets (
	id                 text PRIMARY KEY,
	name               text NOT NULL,
	scope              text NOT NULL,
	manager            text NOT NULL,
	reps               text[] NOT NULL CHECK (cardinality(reps) > 0),
	period_start       date NOT NULL,
	period_end         date NOT NULL CHECK (period_end >= period_start),
	revenue_target     numeric NOT NULL CHECK (revenue_target > 0),
	avg_deal_size      numeric NOT NULL CHECK (avg_deal_size > 0),
	conversion_rate    double precision NOT NULL CHECK (conversion_rate > 0 AND conversion_rate <= 1),
	leads_per_activity double precision NOT NULL CHECK (leads_per_activity > 0),
	time_zone          text NOT NULL,
	working_days       smallint[] NOT NULL CHECK (cardinality(working_days) > 0),
	holidays           date[] NOT NULL DEFAULT '{}',
	run_at             text NOT NULL,
	paused             boolean NOT NULL DEFAULT false,
	created_by         text NOT NULL DEFAULT '',
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Sales activities, immutable facts keyed by the client's id: sending one
-- again changes nothing. Reps are checked against users at ingestion, not by
-- a foreign key, so a million-row load does not pay a lookup per row.
CREATE TABLE funnel_activities (
	id          text PRIMARY KEY,
	rep         text NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('call', 'visit', 'demo')),
	at          timestamptz NOT NULL,
	outcome     text NOT NULL DEFAULT '',
	ingested_at timestamptz NOT NULL DEFAULT now()
);

-- The report counts one rep's activities in a time window: this index
-- answers it alone (an index-only scan), kind included for the breakdown.
CREATE INDEX funnel_activities_rep_at_idx ON funnel_activities (rep, at) INCLUDE (kind);

-- Leads move on (qualified, converted) after they are first sent, so sending
-- a lead's id again replaces its fields; an identical copy changes nothing.
CREATE TABLE funnel_leads (
	id           text PRIMARY KEY,
	rep          text NOT NULL,
	created_at   timestamptz NOT NULL,
	qualified_at timestamptz,
	converted_at timestamptz,
	amount       numeric CHECK (amount >= 0),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	CHECK ((converted_at IS NULL) = (amount IS NULL))
);

-- One index per event the report counts in a window: created, qualified,
-- converted (with the amount, for revenue).
CREATE INDEX funnel_leads_rep_created_idx ON funnel_leads (rep, created_at);
CREATE INDEX funnel_leads_rep_qualified_idx ON funnel_leads (rep, qualified_at) WHERE qualified_at IS NOT NULL;
CREATE INDEX funnel_leads_rep_converted_idx ON funnel_leads (rep, converted_at) INCLUDE (amount) WHERE converted_at IS NOT NULL;

-- One report per workflow run (run_key), so a retried activity finds the
-- report it already stored. It keeps the target's inputs as they were, the
-- calendar, the counts, and the figures derived from them; reps holds the
-- same per rep. Reports go with their target.
CREATE TABLE funnel_reports (
	id                   bigserial PRIMARY KEY,
	target_id            text NOT NULL REFERENCES funnel_targets (id) ON DELETE CASCADE,
	run_key              text NOT NULL UNIQUE,
	trigger              text NOT NULL,
	as_of                timestamptz NOT NULL,
	created_at           timestamptz NOT NULL DEFAULT now(),
	-- The window counted: whole local days from the period's start through
	-- through_date (NULL when no day of the period has passed).
	window_start         timestamptz NOT NULL,
	window_end           timestamptz NOT NULL,
	through_date         date,
	-- The target's inputs, and whom the report told.
	target_name          text NOT NULL,
	manager              text NOT NULL,
	period_start         date NOT NULL,
	period_end           date NOT NULL,
	revenue_target       numeric NOT NULL,
	avg_deal_size        numeric NOT NULL,
	conversion_rate      double precision NOT NULL,
	leads_per_activity   double precision NOT NULL,
	rep_count            integer NOT NULL,
	-- The calendar.
	working_days         integer NOT NULL,
	working_days_elapsed integer NOT NULL,
	working_days_left    integer NOT NULL,
	-- The counts.
	activities           bigint NOT NULL,
	calls                bigint NOT NULL,
	visits               bigint NOT NULL,
	demos                bigint NOT NULL,
	leads                bigint NOT NULL,
	qualified            bigint NOT NULL,
	conversions          bigint NOT NULL,
	revenue              numeric NOT NULL,
	-- The figures.
	leads_needed                   double precision NOT NULL,
	activities_needed              double precision NOT NULL,
	activities_per_day_needed      double precision NOT NULL,
	rep_activities_per_day_needed  double precision NOT NULL,
	activities_per_day             double precision,
	activities_per_day_to_close    double precision,
	conversion_rate_actual         double precision,
	revenue_gap                    double precision NOT NULL,
	leads_gap                      double precision NOT NULL,
	projected_revenue              double precision,
	projected_gap                  double precision,
	reps_below_pace                integer NOT NULL,
	reps                           jsonb NOT NULL
);

CREATE INDEX funnel_reports_target_idx ON funnel_reports (target_id, id DESC);
