"""The clickstream and the CRM extract in the landing zone: the batches the poller lands,
`web_events/YYYY/MM/DD/HH/batch-*.json`, an hour a folder, and `crm/crm_customers.csv`."""

import codecs
import csv
import io
import json
import re
from datetime import datetime

import dagster as dg
import pyarrow as pa

from customer_analytics.defs.web.rules import event_fields
from customer_analytics.defs.web.schemas import CRM_CUSTOMERS, WEB_EVENT_FIELDS
from customer_analytics.lib.landing import LandingZone
from customer_analytics.lib.metadata import shortened

WEB_EVENTS = "web_events"
WEB_HOUR_FOLDER = re.compile(
    rf"{WEB_EVENTS}/(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/batch-[^/]+\.json"
)
CRM_FILE = "crm/crm_customers.csv"


def hour_folder(hour: datetime) -> str:
    return f"{WEB_EVENTS}/{hour:%Y/%m/%d/%H}"


def hour_of_path(path: str) -> str | None:
    """The hourly partition key of a batch file, None for any other file."""
    if folder := WEB_HOUR_FOLDER.fullmatch(path):
        year, month, day, hour = folder.groups()
        return f"{year}-{month}-{day}-{hour}:00"
    return None


def hours_arrived(landing: LandingZone) -> dict[str, str]:
    """The hours present in `web_events/` as hourly partition key → version; an hour's
    version changes when a batch lands in it (late events too)."""
    return landing.arrived(WEB_EVENTS, hour_of_path)


def read_web_hour(landing: LandingZone, hour: datetime) -> pa.Table:
    """Every event landed in the hour's folder, batch by batch, as `WEB_EVENT_FIELDS`."""
    rows = []
    for relative in landing.location.list_files(hour_folder(hour), ".json"):
        where = landing.location.describe(relative)
        try:
            batch = json.loads(landing.location.read_buffer(relative).to_pybytes())
            events = list(zip(batch["positions"], batch["events"], strict=True))
            number, sent = int(batch["batch"]), float(batch["sent_at"])
        except (ValueError, KeyError, TypeError) as error:
            raise dg.Failure(
                f"{where} is not a batch the poller writes ({shortened(error)}): land it "
                "again (delete it and poll from its cursor) or remove it",
                allow_retries=False,
            ) from error
        for position, event in events:
            fields = event_fields(event)
            rows.append({"batch": number, "position": position, "sent_epoch": sent, **fields})
    return pa.Table.from_pylist(rows, schema=WEB_EVENT_FIELDS)


def read_crm(landing: LandingZone) -> pa.Table:
    """The CRM extract's columns of `CRM_CUSTOMERS`, every value as text whatever it holds,
    and `line`, the line of the file each row starts on (the header is line 1), for the
    rules to check and name the rows they refuse. Blank lines are skipped; other columns
    are ignored. A file that cannot be read so fails, naming the file and what is wrong:
    no header, no rows, a missing or repeated column, bytes that are not UTF-8, a row
    with another number of fields than the header, a field longer than the csv module
    reads (`csv.field_size_limit()`, 131,072 characters)."""
    where = landing.location.describe(CRM_FILE)
    if not landing.location.exists(CRM_FILE):
        raise dg.Failure(f"No CRM extract at {where}", allow_retries=False)
    text = _utf8_text(landing.location.read_buffer(CRM_FILE).to_pybytes(), where)
    return _crm_columns(text, where)


def _utf8_text(data: bytes, where: str) -> str:
    """A file's bytes as UTF-8 text, without a byte-order mark; bytes of another encoding fail,
    naming the line of the first one."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        # The lines before the bad byte, and its own (which the sentinel ends).
        line = len((data[: error.start] + b".").splitlines())
        raise dg.Failure(
            f"{where} line {line} is not UTF-8 text (byte {data[error.start]:#04x}): save it "
            "as UTF-8",
            allow_retries=False,
        ) from error


def _crm_positions(header: list[str], where: str) -> list[int]:
    """Where each column of `CRM_CUSTOMERS` is in the header. A column missing, or repeated
    (which of its values counts could not be told), fails."""
    names = CRM_CUSTOMERS.names
    missing = [name for name in names if name not in header]
    repeated = [name for name in names if header.count(name) > 1]
    problems = [f"lacks the column(s) {', '.join(missing)}"] if missing else []
    problems += [f"has the column(s) {', '.join(repeated)} more than once"] if repeated else []
    if problems:
        raise dg.Failure(
            f"{where} {' and '.join(problems)}: its header is {shortened(','.join(header))}, "
            f"expected the columns {', '.join(names)}",
            allow_retries=False,
        )
    return [header.index(name) for name in names]


def _crm_columns(text: str, where: str) -> pa.Table:
    """The columns of `CRM_CUSTOMERS` of a CSV text, as text, and the `line` each row starts
    on; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, positions, rows, lines, start = None, [], [], [], 1
    try:
        for fields in reader:
            # A quoted value may hold line breaks: the next row starts after the last line read.
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if header is None:
                header, positions = fields, _crm_positions(fields, where)
                continue
            if len(fields) != len(header):
                raise dg.Failure(
                    f"{where} line {line} has {len(fields)} fields where the header has "
                    f"{len(header)}",
                    allow_retries=False,
                )
            rows.append([fields[position] for position in positions])
            lines.append(line)
    except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
        raise dg.Failure(
            f"{where} line {start} cannot be read as CSV: {error}", allow_retries=False
        ) from error
    names = CRM_CUSTOMERS.names
    if header is None:
        raise dg.Failure(
            f"{where} is empty: expected a header ({','.join(names)}) and a row per customer",
            allow_retries=False,
        )
    if not rows:
        raise dg.Failure(f"{where} has a header and no rows", allow_retries=False)
    columns = {
        name: pa.array([row[index] for row in rows], pa.string())
        for index, name in enumerate(names)
    }
    return pa.table({**columns, "line": pa.array(lines, pa.int64())})
