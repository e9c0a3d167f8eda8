"""The lower bound: one bare DuckDB query that reads the day files and computes the month's
profile table by the same rules, with nothing validated apart, nothing quarantined and
nothing written. Prints the table's row count and checksum as JSON.

    python -m customer_analytics_tests.bench.lower_bound DAY_FILE...
"""

import json
import sys

import duckdb

from customer_analytics.defs.content.rules import (
    category_sql,
    contract_too_long_sql,
    duration_sql,
    invalid_contract_sql,
)
from customer_analytics.rules.sql import literal
from customer_analytics.rules.text import trimmed_sql
from customer_analytics.rules.viewing import CATEGORIES, TOTAL_COLUMNS, most_watch_sql, taste_sql

# Of each line only what the profile needs, parsed by DuckDB's own reader; a line it cannot
# read is skipped.
_HITS = """
    SELECT CAST(strptime(regexp_extract(filename, '([0-9]{{8}})[.]json$', 1), '%Y%m%d') AS DATE)
               AS date,
           _id, _source.Contract AS contract, _source.AppName AS app,
           CASE json_type(_source.TotalDuration)
               WHEN 'BIGINT' THEN 'integer' WHEN 'UBIGINT' THEN 'integer'
               WHEN 'VARCHAR' THEN 'string'
           END AS duration_kind,
           _source.TotalDuration->>'$' AS duration_text
    FROM read_json({files}, format = 'newline_delimited', ignore_errors = true,
                   filename = true, columns = {{
                       '_id': 'VARCHAR',
                       '_source': 'STRUCT(Contract VARCHAR, AppName VARCHAR, TotalDuration JSON)'
                   }})
"""


def profile_sql(files: list[str]) -> str:
    totals = ", ".join(
        f"sum(CASE WHEN category = {literal(category)} THEN TotalDuration ELSE 0 END) AS {column}"
        for category, column in zip(CATEGORIES, TOTAL_COLUMNS, strict=True)
    )
    return f"""
        WITH typed AS (
            SELECT date, _id, {trimmed_sql("contract")} AS Contract,
                   {duration_sql("duration_kind", "duration_text")} AS TotalDuration,
                   {category_sql("app")} AS category
            FROM ({_HITS.format(files="[" + ", ".join(map(literal, files)) + "]")})
        ), valid AS (
            -- A repeated _id is a repeat of its first line: one of them counts.
            SELECT date, _id, any_value(Contract) AS Contract,
                   any_value(TotalDuration) AS TotalDuration, any_value(category) AS category
            FROM typed
            WHERE NOT {invalid_contract_sql("Contract")} AND NOT {contract_too_long_sql("Contract")}
              AND TotalDuration IS NOT NULL AND category IS NOT NULL
            GROUP BY date, _id
        ), monthly AS (
            SELECT Contract, {totals}, count(DISTINCT date) AS Active FROM valid GROUP BY Contract
        )
        SELECT *, {most_watch_sql()} AS MostWatch, {taste_sql()} AS Taste FROM monthly
    """


def checksum_sql(table: str) -> str:
    """Row count and an order-free checksum of a profile table, the same for equal tables."""
    columns = ", ".join(("Contract", *TOTAL_COLUMNS, "Active", "MostWatch", "Taste"))
    return (
        f"SELECT count(*) AS rows, sum(hash({columns})::HUGEINT)::VARCHAR AS checksum FROM {table}"
    )


def main(files: list[str]) -> None:
    with duckdb.connect() as connection:
        rows, checksum = connection.sql(checksum_sql(f"({profile_sql(files)})")).fetchone()
    print(json.dumps({"rows": rows, "checksum": checksum}))


if __name__ == "__main__":
    main(sys.argv[1:])
