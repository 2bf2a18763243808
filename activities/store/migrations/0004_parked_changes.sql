-- Changes of a deal the store refused (a constraint, a value Postgres cannot
-- hold): kept here instead of being dropped, until an operator repairs the
-- cause and they are replayed (see store.RecordOrPark, `dealflow recordings`
-- and /v1/admin/recordings). change is the whole batch, the deal's snapshot
-- and its events, as JSON in bytea so that Postgres can always hold it.
-- While a deal has a row here, its later changes are parked behind it, so
-- that the audit trail and the outbox are written in order.
CREATE TABLE parked_changes (
	deal_id         text NOT NULL,
	version         bigint NOT NULL,
	events          integer NOT NULL,
	change          bytea NOT NULL,
	first_failed_at timestamptz NOT NULL DEFAULT now(),
	last_failed_at  timestamptz NOT NULL DEFAULT now(),
	attempts        integer NOT NULL DEFAULT 1,
	error           text NOT NULL DEFAULT '',
	PRIMARY KEY (deal_id, version)
);
