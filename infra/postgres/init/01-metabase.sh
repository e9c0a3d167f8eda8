#!/bin/bash
# Creates Metabase's application database and its owner on the first start of the postgres
# image (files in /docker-entrypoint-initdb.d/ run once, against an empty data directory).
# The database of Dagster's instance itself is POSTGRES_DB, which the image creates.
#
# A shell script because the credentials come from the environment; psql's :'var' and :"var"
# quote them as a literal and an identifier, whatever characters they hold.
set -euo pipefail

: "${METABASE_DB_USER:?}"
: "${METABASE_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v mb_user="$METABASE_DB_USER" -v mb_password="$METABASE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"mb_user" LOGIN PASSWORD :'mb_password';
CREATE DATABASE metabase OWNER :"mb_user";
SQL
