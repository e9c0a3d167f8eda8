"""Reading the CRM extract (`LandingZone.read_crm`) as a hostile file comes: every value as text
with the line it is on, and every file that cannot be read so failing with a message that
names the file, the line and what is wrong."""

import codecs
import re
from pathlib import Path

import dagster as dg
import pytest

from customer_analytics.defs.web.landing import read_crm
from customer_analytics.lib.landing import LandingZone

HEADER = "customer_id,contract,loyalty_tier,rating"
# The largest field Python's csv module reads, in characters (csv.field_size_limit()).
FIELD_LIMIT = 131_072


def _read(tmp_path: Path, data: bytes):
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "crm_customers.csv").write_bytes(data)
    return read_crm(LandingZone(uri=str(tmp_path)))


def _failure(tmp_path: Path, data: bytes, message: str) -> None:
    """Reading `data` fails with `message` after the file's path."""
    where = f"{tmp_path}/crm/crm_customers.csv"
    with pytest.raises(dg.Failure, match="^" + re.escape(f"{where} {message}") + "$"):
        _read(tmp_path, data)


def test_each_row_carries_the_line_it_starts_on(tmp_path: Path):
    data = (
        codecs.BOM_UTF8
        + b"customer_id,contract,loyalty_tier,rating,note\r\n"  # line 1, after a byte-order mark
        + b"\r\n"  # line 2: blank, skipped
        + b"u1,C1,Gold,5,x\r\n"  # line 3
        + b'u2,"C2\nsecond line",Silver,4,\r\n'  # lines 4 and 5: a quoted line break
        + b"u3,=C3,Bronze,3,\r"  # line 6, ended by a lone carriage return
        + b"u4,0014111,Gold,02,"  # line 7, without a final line break
    )
    crm = _read(tmp_path, data)
    assert crm.to_pylist() == [
        {"customer_id": "u1", "contract": "C1", "loyalty_tier": "Gold", "rating": "5", "line": 3},
        {
            "customer_id": "u2",
            "contract": "C2\nsecond line",
            "loyalty_tier": "Silver",
            "rating": "4",
            "line": 4,
        },
        {
            "customer_id": "u3",
            "contract": "=C3",
            "loyalty_tier": "Bronze",
            "rating": "3",
            "line": 6,
        },
        # Leading zeros kept: every value is text.
        {
            "customer_id": "u4",
            "contract": "0014111",
            "loyalty_tier": "Gold",
            "rating": "02",
            "line": 7,
        },
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(f"{HEADER}\n".encode(), id="header"),
        pytest.param(f"{HEADER}".encode(), id="header-without-line-break"),
        pytest.param(f"{HEADER}\n\n\r\n".encode(), id="header-and-blank-lines"),
    ],
)
def test_a_header_without_rows_fails_naming_the_file(tmp_path: Path, data: bytes):
    _failure(tmp_path, data, "has a header and no rows")


@pytest.mark.parametrize("data", [b"", b"\n\n", codecs.BOM_UTF8], ids=["empty", "blank", "bom"])
def test_an_empty_file_fails_naming_the_file(tmp_path: Path, data: bytes):
    _failure(
        tmp_path,
        data,
        f"is empty: expected a header ({HEADER}) and a row per customer",
    )


def test_a_field_at_the_reader_s_limit_is_read_whole(tmp_path: Path):
    crm = _read(tmp_path, f"{HEADER}\nu1,{'c' * FIELD_LIMIT},Gold,5\n".encode())
    assert [len(value) for value in crm["contract"].to_pylist()] == [FIELD_LIMIT]


def test_a_field_beyond_the_reader_s_limit_fails_naming_the_line_and_the_limit(tmp_path: Path):
    three_mb = "c" * 3_000_000
    data = f"{HEADER}\nu1,C1,Gold,5\nu2,{three_mb},Gold,5\nu3,C3,Gold,5\n".encode()
    _failure(tmp_path, data, "line 3 cannot be read as CSV: field larger than field limit (131072)")


def test_a_quoted_field_beyond_the_limit_is_named_by_the_line_its_row_starts_on(tmp_path: Path):
    long_lines = "\n".join(["c" * 1000] * 200)  # 200,199 characters on 200 lines
    data = f'{HEADER}\nu1,C1,Gold,5\n\nu2,"{long_lines}",Gold,5\n'.encode()
    _failure(tmp_path, data, "line 4 cannot be read as CSV: field larger than field limit (131072)")


def test_missing_columns_fail_naming_them_and_the_header(tmp_path: Path):
    _failure(
        tmp_path,
        b"customer_id,Contract,tier\nu1,C1,Gold\n",
        "lacks the column(s) contract, loyalty_tier, rating: its header is "
        f"customer_id,Contract,tier, expected the columns {HEADER.replace(',', ', ')}",
    )


def test_a_repeated_column_fails_since_which_value_counts_cannot_be_told(tmp_path: Path):
    _failure(
        tmp_path,
        f"{HEADER},rating\nu1,C1,Gold,5,1\n".encode(),
        "has the column(s) rating more than once: its header is "
        f"{HEADER},rating, expected the columns {HEADER.replace(',', ', ')}",
    )


def test_bytes_that_are_not_utf8_fail_naming_their_line(tmp_path: Path):
    # Latin-1 "café" on line 4 (the quoted line break makes line 2's row two lines).
    data = f'{HEADER}\nu1,"C\n1",Gold,5\nu2,caf'.encode() + b"\xe9,Gold,5\n"
    _failure(tmp_path, data, "line 4 is not UTF-8 text (byte 0xe9): save it as UTF-8")


def test_a_row_with_another_number_of_fields_fails_naming_its_line(tmp_path: Path):
    data = f"{HEADER}\nu1,C1,Gold,5\nu2,C,2,Gold,5\n".encode()
    _failure(tmp_path, data, "line 3 has 5 fields where the header has 4")
