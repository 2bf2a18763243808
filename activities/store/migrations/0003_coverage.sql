-- The behaviour paradigm: named-account coverage programs. A program is a
-- finite list of named accounts worked by three teams (SDR, BD, presales);
-- their events are counted by a scheduled report, computed here in SQL.

CREATE TABLE coverage_programs (
	id                text PRIMARY KEY,
	name              text NOT NULL,
	-- The report runs on these weekdays (monday..sunday) at run_at (HH:MM)
	-- in time_zone (IANA), through the Temporal Schedule coverage/<id>.
	time_zone         text NOT NULL,
	weekdays          text[] NOT NULL,
	run_at            text NOT NULL,
	-- An account nobody touched for this many days is listed as untouched.
	untouched_days    integer NOT NULL CHECK (untouched_days BETWEEN 1 AND 3650),
	target_coverage   double precision NOT NULL CHECK (target_coverage BETWEEN 0 AND 1),
	target_signing    double precision NOT NULL CHECK (target_signing BETWEEN 0 AND 1),
	target_first_pass double precision NOT NULL CHECK (target_first_pass BETWEEN 0 AND 1),
	paused            boolean NOT NULL DEFAULT false,
	created_by        text NOT NULL DEFAULT '',
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Who works a program: one row per (team, user); exactly one lead per team
-- is told the team's figure after each report.
CREATE TABLE coverage_team_members (
	program_id text NOT NULL REFERENCES coverage_programs (id) ON DELETE CASCADE,
	team       text NOT NULL CHECK (team IN ('sdr', 'bd', 'presales')),
	user_id    text NOT NULL REFERENCES users (id),
	lead       boolean NOT NULL DEFAULT false,
	PRIMARY KEY (program_id, team, user_id)
);

CREATE UNIQUE INDEX coverage_team_lead_idx ON coverage_team_members (program_id, team) WHERE lead;

-- The named accounts. A name is unique within a program, case-insensitively,
-- because a deal's customer is matched to an account by name.
CREATE TABLE coverage_accounts (
	program_id  text NOT NULL REFERENCES coverage_programs (id) ON DELETE CASCADE,
	id          text NOT NULL,
	name        text NOT NULL,
	industry    text NOT NULL DEFAULT '',
	region      text NOT NULL DEFAULT '',
	owner       text NOT NULL DEFAULT '',
	imported_at timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (program_id, id)
);

CREATE UNIQUE INDEX coverage_accounts_program_name_idx ON coverage_accounts (program_id, lower(name));
-- Finds every program that lists a deal's customer, whatever the program.
CREATE INDEX coverage_accounts_name_idx ON coverage_accounts (lower(name));

-- What the teams did, one row per event, unique per (program, client id).
-- Events that come from deals (source 'deal') have the id
-- 'deal/<deal id>/<event seq>', which client ids (no '/') cannot take.
CREATE TABLE coverage_events (
	program_id  text NOT NULL,
	id          text NOT NULL,
	account_id  text NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('sdr_touch', 'bd_visit', 'bd_signing', 'solution_submitted', 'solution_reviewed')),
	-- sdr_touch: contact_established, needs_probed or value_confirmed.
	stage       text NOT NULL DEFAULT '',
	-- solution_*: which solution (per account), its round and the result.
	solution    text NOT NULL DEFAULT '',
	round       integer NOT NULL DEFAULT 0,
	result      text NOT NULL DEFAULT '' CHECK (result IN ('', 'approved', 'rejected')),
	actor       text NOT NULL,
	at          timestamptz NOT NULL,
	note        text NOT NULL DEFAULT '',
	source      text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'deal')),
	deal_id     text,
	deal_seq    bigint,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (program_id, id),
	FOREIGN KEY (program_id, account_id) REFERENCES coverage_accounts (program_id, id) ON DELETE CASCADE
);

-- The report groups a program's events by account; kind and stage ride in
-- the index so the per-account aggregate reads the index alone.
CREATE INDEX coverage_events_account_idx ON coverage_events (program_id, account_id, at) INCLUDE (kind, stage);
-- Solutions are a few percent of the events: the report reads them from
-- this partial index instead of scanning the program's events a second time
-- (EXPLAIN ANALYZE on 10,000 accounts: 45 ms of a 100 ms report, then 1.5).
CREATE INDEX coverage_events_solutions_idx ON coverage_events (program_id, account_id, solution)
	INCLUDE (kind, round, result, at) WHERE kind IN ('solution_submitted', 'solution_reviewed');

-- One row per report run (run_key: workflow ID and run ID, so a retried
-- activity stores its report once). The counts are what the figures come
-- from; the rates are derived from them by Postgres itself.
CREATE TABLE coverage_reports (
	id                   bigserial PRIMARY KEY,
	program_id           text NOT NULL REFERENCES coverage_programs (id) ON DELETE CASCADE,
	run_key              text NOT NULL UNIQUE,
	trigger              text NOT NULL,
	as_of                timestamptz NOT NULL,
	created_at           timestamptz NOT NULL DEFAULT now(),
	untouched_days       integer NOT NULL,
	accounts             integer NOT NULL,
	accounts_covered     integer NOT NULL, -- any SDR touch, ever
	accounts_touched     integer NOT NULL, -- any SDR touch, BD visit or signing in the window
	accounts_qualified   integer NOT NULL, -- reached value_confirmed
	accounts_signed      integer NOT NULL,
	solutions_submitted  integer NOT NULL,
	solutions_reviewed   integer NOT NULL,
	solutions_first_pass integer NOT NULL, -- approved in round 1
	target_coverage      double precision NOT NULL,
	target_signing       double precision NOT NULL,
	target_first_pass    double precision NOT NULL,
	untouched_total      integer NOT NULL,
	-- The longest-untouched accounts, capped: [{id, name, owner, last_touch}].
	untouched            jsonb NOT NULL DEFAULT '[]',
	-- The team leads told about this report: {"sdr": user, ...}.
	leads                jsonb NOT NULL DEFAULT '{}',
	coverage_rate        double precision GENERATED ALWAYS AS (accounts_covered::float8 / NULLIF(accounts, 0)) STORED,
	touch_rate           double precision GENERATED ALWAYS AS (accounts_touched::float8 / NULLIF(accounts, 0)) STORED,
	penetration_rate     double precision GENERATED ALWAYS AS (accounts_qualified::float8 / NULLIF(accounts, 0)) STORED,
	signing_rate         double precision GENERATED ALWAYS AS (accounts_signed::float8 / NULLIF(accounts, 0)) STORED,
	first_pass_rate      double precision GENERATED ALWAYS AS (solutions_first_pass::float8 / NULLIF(solutions_reviewed, 0)) STORED
);

CREATE INDEX coverage_reports_program_idx ON coverage_reports (program_id, id DESC);
