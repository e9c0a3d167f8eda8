"""A folder the assets read or write, local or in S3: the base of every folder resource."""

import dagster as dg
from dagster_aws.s3 import S3Resource

from customer_analytics.engines.storage import Location


class Folder(dg.ConfigurableResource):
    """A folder the assets use: a local path or an `s3://` URI."""

    uri: str
    s3: S3Resource | None = None

    @property
    def location(self) -> Location:
        return Location(self.uri, self.s3)
