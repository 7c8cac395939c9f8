#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster and make sure the test role and database exist.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; installing it with apt." >&2
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
fi
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 0.5
done
psql_as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -tAc \"$1\""; }
if [ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname='walkabout'")" != "1" ]; then
  psql_as_postgres "CREATE ROLE walkabout LOGIN SUPERUSER PASSWORD 'walkabout'"
fi
if [ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname='walkabout_test'")" != "1" ]; then
  psql_as_postgres "CREATE DATABASE walkabout_test OWNER walkabout"
fi
