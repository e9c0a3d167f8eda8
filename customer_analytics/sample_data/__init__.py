"""Deterministic sample data for the landing zone (docs/contract.md §2), dirt included."""

from customer_analytics.defs.content.sample_data import (
    DIRT,
    Contracts,
    Dirt,
    content_path,
    dirt_counts,
    generate_content_day,
)
from customer_analytics.defs.search.rules import VOICE_SEARCH_PLACEHOLDER
from customer_analytics.defs.search.sample_data import (
    SEARCH_DAYS,
    SEARCH_SCHEMA,
    SearchUsers,
    generate_search_day,
    search_path,
)
from customer_analytics.defs.search.sample_titles import GENRES, SEARCH_TITLES, SearchTitle
from customer_analytics.lib.sample_files import DayFile
from customer_analytics.lib.subscribers import default_contracts
from customer_analytics.sample_data.generator import Summary, generate

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
