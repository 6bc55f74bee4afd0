#!/usr/bin/env bash
# Set up the stac-fastapi-pgstac anchor for benchmarks/catalog_pgstac.py (benchmark only; the
# project never needs it). Installs PostGIS into the local PostgreSQL 15, creates the database
# pgstac_bench with pgstac's schema, and a separate virtual environment .venv-pgstac.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3
fi
test -x .venv-pgstac/bin/python || python3 -m venv .venv-pgstac
.venv-pgstac/bin/pip install -q "pypgstac[psycopg]==0.10.0" "stac-fastapi-pgstac==7.2.0" "uvicorn==0.54.0"
psql -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS pgstac_bench" -c "CREATE DATABASE pgstac_bench"
psql -h 127.0.0.1 -U postgres -d pgstac_bench -c "CREATE EXTENSION IF NOT EXISTS postgis"
.venv-pgstac/bin/pypgstac migrate --dsn postgresql://postgres@127.0.0.1/pgstac_bench
