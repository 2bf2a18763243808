-- dealflow's initial schema: the deal read model, the audit trail, the
-- notification outbox, users and API tokens, custom templates.

-- The read-model projection of each deal workflow. state is the whole
-- plan.Deal; the other columns are copies of its fields for filtering,
-- sorting and indexing. version orders projections: an older snapshot never
-- overwrites a newer one.
CREATE TABLE deals (
	id            text PRIMARY KEY,
	name          text NOT NULL,
	customer      text NOT NULL,
	amount        numeric NOT NULL DEFAULT 0,
	currency      text NOT NULL,
	status        text NOT NULL,
	template      text NOT NULL,
	pmo           text NOT NULL,
	stage         text[] NOT NULL DEFAULT '{}', -- keys of the open milestones
	buyer_stage   text NOT NULL DEFAULT '',
	overdue       boolean NOT NULL DEFAULT false,
	next_deadline timestamptz,
	started_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	closed_at     timestamptz,
	version       bigint NOT NULL,
	state         jsonb NOT NULL
);

CREATE INDEX deals_status_idx ON deals (status, updated_at DESC, id DESC);
CREATE INDEX deals_pmo_idx ON deals (pmo, updated_at DESC, id DESC);
CREATE INDEX deals_customer_idx ON deals (lower(customer));
CREATE INDEX deals_overdue_idx ON deals (updated_at DESC, id DESC) WHERE overdue;
CREATE INDEX deals_stage_idx ON deals USING gin (stage);
-- Keyset pagination: one index per sort order, each ending in id.
CREATE INDEX deals_updated_idx ON deals (updated_at, id);
CREATE INDEX deals_amount_idx ON deals (amount, id);
CREATE INDEX deals_name_idx ON deals (name, id);
CREATE INDEX deals_next_deadline_idx ON deals ((COALESCE(next_deadline, 'infinity'::timestamptz)), id);

-- Text search matches a substring of "name customer", case-insensitively.
-- With pg_trgm (contrib; trusted since PostgreSQL 13, so a database owner may
-- create it) a trigram index serves those LIKE '%...%' queries; without it
-- the search still works, by a scan.
DO $$
BEGIN
	BEGIN
		CREATE EXTENSION IF NOT EXISTS pg_trgm;
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'pg_trgm unavailable (%); deal text search will scan', SQLERRM;
	END;
	IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
		EXECUTE 'CREATE INDEX deals_text_trgm_idx ON deals USING gin ((lower(name || '' '' || customer)) gin_trgm_ops)';
	END IF;
END
$$;

-- One row per milestone of each deal, rewritten from the snapshot whenever
-- the projection advances. owner is resolved (named owner, else the role's
-- holder). pending_reviewers are this round's reviewers who have not voted.
CREATE TABLE milestones (
	deal_id           text NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
	key               text NOT NULL,
	title             text NOT NULL,
	role              text NOT NULL,
	owner             text NOT NULL DEFAULT '',
	state             text NOT NULL,
	round             integer NOT NULL DEFAULT 0,
	due_at            timestamptz,
	activated_at      timestamptz,
	done_at           timestamptz,
	overdue           boolean NOT NULL DEFAULT false,
	escalation_level  integer NOT NULL DEFAULT 0,
	position          integer NOT NULL,
	reviewers         text[] NOT NULL DEFAULT '{}',
	pending_reviewers text[] NOT NULL DEFAULT '{}',
	PRIMARY KEY (deal_id, key)
);

CREATE INDEX milestones_owner_idx ON milestones (owner, state);
CREATE INDEX milestones_pending_reviewers_idx ON milestones USING gin (pending_reviewers);

-- The audit trail: every event of every deal, unique per (deal, seq).
-- notify copies the event's recipients so escalations can be found per user.
CREATE TABLE audit_events (
	deal_id     text NOT NULL,
	seq         bigint NOT NULL,
	kind        text NOT NULL,
	at          timestamptz NOT NULL,
	actor       text NOT NULL,
	milestone   text NOT NULL DEFAULT '',
	message     text NOT NULL,
	notify      text[] NOT NULL DEFAULT '{}',
	data        jsonb NOT NULL DEFAULT '{}',
	recorded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (deal_id, seq)
);

CREATE INDEX audit_events_notify_idx ON audit_events USING gin (notify) WHERE kind = 'escalation';

-- Notifications waiting for the relay: one row per (event, recipient).
-- A claimed row's next_attempt_at is pushed out by the claim's lease, so a
-- crashed relay's rows come due again. failed_at ends retrying.
CREATE TABLE outbox (
	id              bigserial PRIMARY KEY,
	deal_id         text NOT NULL,
	seq             bigint NOT NULL,
	recipient       text NOT NULL,
	kind            text NOT NULL,
	message         text NOT NULL,
	payload         jsonb NOT NULL DEFAULT '{}',
	created_at      timestamptz NOT NULL DEFAULT now(),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	channels_done   text[] NOT NULL DEFAULT '{}',
	delivered_at    timestamptz,
	failed_at       timestamptz,
	last_error      text NOT NULL DEFAULT '',
	UNIQUE (deal_id, seq, recipient)
);

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE users (
	id          text PRIMARY KEY,
	name        text NOT NULL,
	email       text NOT NULL DEFAULT '',
	roles       text[] NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL DEFAULT now(),
	disabled_at timestamptz
);

CREATE UNIQUE INDEX users_email_idx ON users (lower(email)) WHERE email <> '';

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash   bytea NOT NULL UNIQUE,
	name         text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	revoked_at   timestamptz
);

CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Custom plan templates; body is a plan.Template as JSON.
CREATE TABLE templates (
	name       text PRIMARY KEY,
	body       jsonb NOT NULL,
	created_by text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
