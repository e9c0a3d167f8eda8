"""Deterministic sample data for the landing zone (docs/contract.md §2), dirt included."""

from customer_analytics.rules.search import VOICE_SEARCH_PLACEHOLDER
from customer_analytics.sample_data.common import DayFile
from customer_analytics.sample_data.content import (
    DIRT,
    Contracts,
    Dirt,
    content_path,
    default_contracts,
    dirt_counts,
    generate_content_day,
)
from customer_analytics.sample_data.generator import Summary, generate
from customer_analytics.sample_data.lexicon import GENRES, SEARCH_TITLES, SearchTitle
from customer_analytics.sample_data.search import (
    SEARCH_DAYS,
    SEARCH_SCHEMA,
    SearchUsers,
    generate_search_day,
    search_path,
)

__all__ = [
    "DIRT",
    "GENRES",
    "SEARCH_DAYS",
    "SEARCH_SCHEMA",
    "SEARCH_TITLES",
    "VOICE_SEARCH_PLACEHOLDER",
    "Contracts",
    "DayFile",
    "Dirt",
    "SearchTitle",
    "SearchUsers",
    "Summary",
    "content_path",
    "default_contracts",
    "dirt_counts",
    "generate",
    "generate_content_day",
    "generate_search_day",
    "search_path",
]
