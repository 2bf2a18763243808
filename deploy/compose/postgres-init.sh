#!/bin/sh
# Runs once, when the postgres service initialises its data volume: a role
# and databases for Temporal (persistence and visibility), and a role and
# database for dealflow. The passwords come from the service's environment.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE temporal LOGIN PASSWORD '$PG_TEMPORAL_PASSWORD';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE dealflow LOGIN PASSWORD '$PG_DEALFLOW_PASSWORD';
CREATE DATABASE dealflow OWNER dealflow;
SQL
