-- Templates have owners and versions; API tokens may expire and record who
-- issued them.

-- Every save of a custom template is a version: templates keeps the latest
-- (its version number, creator and last editor), template_versions every
-- one, so a deal can say which version it started from and anyone can read
-- that version again.
ALTER TABLE templates
	ADD COLUMN version    integer NOT NULL DEFAULT 1,
	ADD COLUMN updated_by text NOT NULL DEFAULT '';
UPDATE templates SET updated_by = created_by;

CREATE TABLE template_versions (
	name       text NOT NULL REFERENCES templates (name) ON DELETE CASCADE,
	version    integer NOT NULL CHECK (version > 0),
	body       jsonb NOT NULL,
	created_by text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (name, version)
);

-- The templates saved before versions existed are their version 1.
INSERT INTO template_versions (name, version, body, created_by, created_at)
SELECT name, 1, body, created_by, updated_at FROM templates;

-- A token with expires_at is refused from then on, like a revoked one;
-- created_by is the admin (or the command line, '') who issued it.
ALTER TABLE api_tokens
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN created_by text NOT NULL DEFAULT '';
