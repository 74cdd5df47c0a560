#!/bin/bash
# First start of the stack's PostgreSQL (run once by the image's entrypoint, from
# /docker-entrypoint-initdb.d): one database and one user each for AIMA's metadata (aima) and the
# Prefect server (prefect), and a read-only user for monitoring (aima_monitor: AIMA's exporter and
# postgres-exporter). Nobody else may connect to either database.
#
# The passwords come from the environment (DB_PASSWORD_AIMA, DB_PASSWORD_PREFECT,
# DB_PASSWORD_MONITOR) through psql's \getenv, so they appear on no command line.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres <<'SQL'
\getenv metadata_password DB_PASSWORD_AIMA
\getenv prefect_password DB_PASSWORD_PREFECT
\getenv monitor_password DB_PASSWORD_MONITOR
CREATE ROLE aima LOGIN PASSWORD :'metadata_password';
CREATE ROLE prefect LOGIN PASSWORD :'prefect_password';
CREATE ROLE aima_monitor LOGIN PASSWORD :'monitor_password';
GRANT pg_monitor TO aima_monitor;
CREATE DATABASE aima OWNER aima;
CREATE DATABASE prefect OWNER prefect;
REVOKE ALL ON DATABASE aima FROM PUBLIC;
REVOKE ALL ON DATABASE prefect FROM PUBLIC;
GRANT CONNECT ON DATABASE aima TO aima_monitor;
\connect aima
-- Tables are made later by AIMA's migrations, as aima: the monitor may read each one.
GRANT USAGE ON SCHEMA public TO aima_monitor;
ALTER DEFAULT PRIVILEGES FOR ROLE aima IN SCHEMA public GRANT SELECT ON TABLES TO aima_monitor;
SQL
