"""Every classification ever made, kept in the warehouse table `keyword_category`.

Batches are stored as they arrive, so a run killed half-way resumes where it stopped and a
keyword is never paid for twice.
"""

import pyarrow as pa
import pyarrow.compute as pc

from customer_analytics.defs.search.classifiers.classifier import Classification
from customer_analytics.defs.search.schemas import KEYWORD_CATEGORY
from customer_analytics.io_managers.warehouse import Warehouse

TABLE = "keyword_category"


class KeywordCache:
    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse

    def lookup(self, keywords: pa.Array | pa.ChunkedArray) -> pa.Table:
        """The cached rows of these keywords (those never classified are absent)."""
        cached = self.warehouse.read(TABLE, None, schema=KEYWORD_CATEGORY)
        return cached.filter(pc.is_in(cached["keyword"], value_set=pc.unique(keywords)))

    def store(self, batch: list[Classification]) -> None:
        rows = pa.Table.from_pylist(
            [
                {
                    "keyword": c.keyword,
                    "category": c.category,
                    "source": c.source,
                    "model": c.model,
                    "classified_at": c.classified_at,
                }
                for c in batch
            ],
            schema=KEYWORD_CATEGORY,
        )
        self.warehouse.upsert(TABLE, rows)
