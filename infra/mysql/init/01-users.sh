#!/bin/bash
# Creates the warehouse database and its two accounts on the first start of the mysql image
# (files in /docker-entrypoint-initdb.d/ run once, against an empty data directory).
#
# A shell script rather than a .sql file because the passwords come from the environment
# (infra/.env via docker-compose.yml) and .sql files cannot read it. The image sources a
# non-executable .sh and executes an executable one; this file works either way.
#
#   customer_analytics  what Dagster writes with: rows and tables of this database, nothing else
#   metabase            what dashboards read with: SELECT only
set -euo pipefail

: "${MYSQL_ROOT_PASSWORD:?}"
: "${CUSTOMER_ANALYTICS_PASSWORD:?}"
: "${METABASE_READER_PASSWORD:?}"

# A password as a SQL string literal: backslashes and quotes escaped.
sql_string() {
	local value=${1//\\/\\\\}
	printf "'%s'" "${value//\'/\'\'}"
}

app_password=$(sql_string "$CUSTOMER_ANALYTICS_PASSWORD")
reader_password=$(sql_string "$METABASE_READER_PASSWORD")

# During initialisation the server listens on its socket only; the root password is passed
# through the environment so that it never shows in a process list.
MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS customer_analytics
  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

CREATE USER IF NOT EXISTS 'customer_analytics'@'%' IDENTIFIED BY ${app_password};
-- Delete-then-insert of a partition and upserts need DML; the IO manager creates its tables
-- and their keys on first write, hence CREATE, INDEX and ALTER. No DROP, no GRANT OPTION.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX, ALTER
  ON customer_analytics.* TO 'customer_analytics'@'%';

CREATE USER IF NOT EXISTS 'metabase'@'%' IDENTIFIED BY ${reader_password};
GRANT SELECT ON customer_analytics.* TO 'metabase'@'%';

FLUSH PRIVILEGES;
SQL
