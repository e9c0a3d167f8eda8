"""The quarantine reasons in their order and the length limits (docs/contract.md §3)."""

import pyarrow as pa

from customer_analytics.defs.content import rules as content
from customer_analytics.defs.search.schemas import (
    KEYWORD_CATEGORY,
    MONTHLY_TOP_KEYWORD,
    RAW_LOG_SEARCH,
)
from customer_analytics.io_managers.mysql_warehouse import column_types
from customer_analytics.rules.identifiers import (
    MAX_CONTRACT_LENGTH,
    MAX_KEYWORD_LENGTH,
    MAX_USER_ID_LENGTH,
)
from customer_analytics.rules.tables import CUSTOMER_CONTENT_STATS, CUSTOMER_SEARCH_STATS


def test_content_reasons_in_order():
    assert content.QUARANTINE_REASONS == (
        "malformed_json",
        "missing_source",
        "invalid_contract",
        "contract_too_long",
        "invalid_duration",
        "unknown_app",
        "duplicate_id",
    )


def test_length_limits():
    assert MAX_CONTRACT_LENGTH == 255
    assert MAX_USER_ID_LENGTH == 255
    assert MAX_KEYWORD_LENGTH == 500


def test_mysql_columns_take_their_lengths_from_the_rules():
    stats = column_types(CUSTOMER_CONTENT_STATS)
    assert stats["Contract"] == "VARCHAR(255)"
    assert column_types(KEYWORD_CATEGORY)["keyword"] == "VARCHAR(500)"
    search_stats = column_types(CUSTOMER_SEARCH_STATS)
    assert search_stats["user_id"] == "VARCHAR(255)"
    assert search_stats["keyword_prev"] == "VARCHAR(500)"
    assert search_stats["keyword_cur"] == "VARCHAR(500)"
    assert column_types(MONTHLY_TOP_KEYWORD)["keyword"] == "VARCHAR(500)"
    assert column_types(RAW_LOG_SEARCH)["raw_keyword"] == "VARCHAR(500)"
    # Columns the rules do not bound keep the warehouse's own lengths.
    assert stats["MostWatch"] == "VARCHAR(255)"
    assert column_types(pa.schema([("keyword", pa.string())]))["keyword"] == "VARCHAR(255)"
