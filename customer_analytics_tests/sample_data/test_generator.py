import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from customer_analytics.defs.search.sample_spelling import STYLES, spell
from customer_analytics.sample_data import (
    DIRT,
    GENRES,
    SEARCH_DAYS,
    SEARCH_SCHEMA,
    SEARCH_TITLES,
    VOICE_SEARCH_PLACEHOLDER,
    Summary,
    dirt_counts,
    generate,
)
from customer_analytics.sample_data.__main__ import main

LINES = 5000
CONTENT_DAYS = 3
OPTIONS = dict(
    content_days=CONTENT_DAYS,
    lines_per_day=LINES,
    search_users=500,
    searches_per_day=1000,
    verbose=False,
)
# The AppName map of docs/contract.md §3, written out again so that the test does not trust the generator.
KNOWN_APPS = {
    "CHANNEL", "DSHD", "KPLUS", "VOD", "FIMS_RES", "BHD_RES", "VOD_RES", "FIMS", "BHD", "DANET",
    "RELAX", "CHILD", "SPORT",
}  # fmt: skip
CONTRACT = re.compile(r"[A-Z]{3}\d{6}")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> tuple[Path, Summary]:
    out = tmp_path_factory.mktemp("raw")
    return out, generate(out, **OPTIONS)


@pytest.fixture(scope="module")
def searches(raw) -> pd.DataFrame:
    out, _ = raw
    frames = []
    for folder in sorted((out / "log_search").iterdir()):
        frame = pq.read_table(folder / "part-00000.parquet").to_pandas()
        frames.append(frame.assign(day=folder.name))
    return pd.concat(frames, ignore_index=True)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_follows_the_landing_zone_contract(raw):
    out, summary = raw
    content = [f"log_content/202204{d:02d}.json" for d in range(1, CONTENT_DAYS + 1)]
    search = [f"log_search/{day:%Y%m%d}/part-00000.parquet" for day in SEARCH_DAYS]
    assert sorted(_files(out)) == sorted(content + search)
    assert len(SEARCH_DAYS) == 28
    assert SEARCH_DAYS[0] == date(2022, 6, 1) and SEARCH_DAYS[13] == date(2022, 6, 14)
    assert SEARCH_DAYS[14] == date(2022, 7, 1) and SEARCH_DAYS[-1] == date(2022, 7, 14)
    assert summary == Summary(CONTENT_DAYS, CONTENT_DAYS * LINES, 28, 28 * 1000)


def test_same_seed_same_bytes_and_days_are_independent(raw, tmp_path):
    out, _ = raw
    generate(tmp_path / "again", **OPTIONS)
    assert _files(tmp_path / "again") == _files(out)

    alone = tmp_path / "alone"
    only = {**OPTIONS, "content_days": 1, "search": False}
    generate(alone, content_start=date(2022, 4, 2), **only)
    assert _files(alone) == {"log_content/20220402.json": _files(out)["log_content/20220402.json"]}

    other = tmp_path / "other"
    generate(other, seed=7, **only)
    assert _files(other)["log_content/20220401.json"] != _files(out)["log_content/20220401.json"]


def _dirt_kind(line: bytes, seen_ids: set[str]) -> str | None:
    """The kind of dirt of one line by the rules of docs/contract.md §3; None for a clean line."""
    try:
        hit = json.loads(line)
    except ValueError:
        return "malformed_json"
    source = hit.get("_source")
    if not isinstance(source, dict):
        return "missing_source"
    contract, app = source["Contract"], source["AppName"]
    duration = source["TotalDuration"]
    if contract is None:
        return "null_contract"
    if contract.strip() == "":
        return "empty_contract"
    if contract.strip() == "0":
        return "zero_contract"
    if contract.strip().upper() == "NULL":
        return "null_text_contract"
    valid_int = type(duration) is int and duration >= 0
    if not (valid_int or (isinstance(duration, str) and duration.isdigit())):
        return "invalid_duration"
    if app.strip().upper() not in KNOWN_APPS:
        return "unknown_app"
    if hit["_id"] in seen_ids:
        return "duplicate_id"
    seen_ids.add(hit["_id"])
    if contract != contract.strip():
        return "padded_contract"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", contract):
        return "ip_contract"
    if isinstance(duration, str):
        return "duration_string"
    if app != app.strip().upper():
        return "app_case_variant"
    assert CONTRACT.fullmatch(contract), line
    return None


def _content_days(out: Path) -> dict[str, list[bytes]]:
    return {
        path.name: path.read_bytes().splitlines(keepends=True)
        for path in sorted((out / "log_content").iterdir())
    }


def _sources(lines: list[bytes]) -> list[dict]:
    """The _source of every line that has one."""
    sources = []
    for line in lines:
        try:
            hit = json.loads(line)
        except ValueError:
            continue
        if "_source" in hit:
            sources.append(hit["_source"])
    return sources


def test_every_kind_of_dirt_at_its_rate(raw):
    out, _ = raw
    expected = {kind: count for kind, count in dirt_counts(LINES).items() if count}
    assert set(expected) == set(DIRT), "every kind of dirt shows up at 5000 lines a day"
    for name, lines in _content_days(out).items():
        seen: set[str] = set()
        kinds = Counter(_dirt_kind(line, seen) for line in lines)
        del kinds[None]
        assert kinds == expected, name
        quarantined = sum(n for kind, n in kinds.items() if DIRT[kind].reason)
        assert 0.005 <= quarantined / len(lines) <= 0.02
        assert sum(kinds.values()) / len(lines) <= 0.02


def test_lines_are_json_hits_or_deliberately_cut(raw):
    out, _ = raw
    for lines in _content_days(out).values():
        cut = 0
        for line in lines:
            assert line.startswith(b'{"_index":"history","_type":"') and line.endswith(b"\n")
            try:
                hit = json.loads(line)
            except ValueError:
                cut += 1
                continue
            assert hit["_index"] == "history" and hit["_score"] == 0
            assert re.fullmatch(r"[A-Za-z0-9_-]{20}", hit["_id"])
            if "_source" in hit:
                assert re.fullmatch(r"[0-9A-F]{12}", hit["_source"]["Mac"])
                assert hit["_type"] == hit["_source"]["AppName"].strip().lower()
        assert cut == dirt_counts(LINES)["malformed_json"]


def test_lines_come_in_one_block_per_type(raw):
    out, _ = raw
    for lines in _content_days(out).values():
        types = [re.match(rb'\{"_index":"history","_type":"(\w+)"', line)[1] for line in lines]
        blocks = [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]
        assert len(blocks) == len(set(blocks))
        assert {b"channel", b"kplus", b"vod"} <= set(blocks)
        assert {t.decode().upper() for t in blocks} - KNOWN_APPS, "unknown apps have blocks too"


def test_contracts_keep_their_boxes_and_activity_is_skewed(raw):
    out, _ = raw
    macs, days = defaultdict(set), defaultdict(set)
    for name, lines in _content_days(out).items():
        for source in _sources(lines):
            if CONTRACT.fullmatch(source["Contract"] or ""):
                macs[source["Contract"]].add(source["Mac"])
                days[source["Contract"]].add(name)
    boxes = Counter(len(m) for m in macs.values())
    assert set(boxes) == {1, 2} and boxes[1] > 5 * boxes[2]
    active = Counter(len(d) for d in days.values())
    assert active[1] > active[3] > 0, "most contracts watch on few days, some on every day"
    assert {c[:3] for c in macs} >= {"HNH", "SGH"}


def test_search_schema_is_exact(raw):
    out, _ = raw
    for day in SEARCH_DAYS:
        schema = pq.read_schema(out / f"log_search/{day:%Y%m%d}/part-00000.parquet")
        assert schema.names == SEARCH_SCHEMA.names
        assert schema.types == SEARCH_SCHEMA.types
    assert SEARCH_SCHEMA.names == [
        "eventID", "datetime", "user_id", "keyword", "category", "proxy_isp", "platform",
        "networkType", "action", "userPlansMap",
    ]  # fmt: skip


def test_search_rows_look_like_the_export(searches):
    assert (searches["datetime"].str[:10].str.replace("-", "") == searches["day"]).all()
    assert searches["datetime"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}").all()
    assert searches["eventID"].str.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}").all()
    assert set(searches["category"]) == {"enter", "quit"}
    assert set(searches["networkType"]) == {"wifi", "ethernet", "4G"}
    assert 0.95 < (searches["action"] == "search").mean() < 0.99
    assert searches["userPlansMap"].map(len).eq(0).any()

    per_day = searches.groupby("day")
    duplicates = per_day["eventID"].apply(lambda ids: ids.duplicated().mean())
    assert duplicates.between(0.002, 0.01).all()
    assert searches["user_id"].isna().any()
    assert (searches["user_id"].str.strip() == "").any()


def test_user_ids_with_and_without_leading_zeros_are_different_users(searches):
    ids = set(searches["user_id"].dropna())
    assert all(i.strip() == "" or i.isdigit() for i in ids)
    zero_led = {i for i in ids if i.startswith("0")}
    pairs = {i for i in zero_led if i.lstrip("0") in ids}
    assert len(pairs) >= 5


def test_keywords_are_typed_every_which_way(searches):
    keywords = searches["keyword"]
    assert keywords.isna().any()
    assert (keywords == VOICE_SEARCH_PLACEHOLDER).any()
    assert (keywords.str.strip() == "").any()
    typed = set(keywords.dropna())
    assert {"trực tiếp bóng đá", "truc tiep bong da", "TRUCTIEPBONGDAHOMNAY"} <= typed
    nfd = {k for k in typed if unicodedata.normalize("NFC", k) != k}
    assert any(unicodedata.normalize("NFC", k) in typed for k in nfd)
    assert any(k != k.strip() for k in typed) and any("  " in k.strip() for k in typed)
    assert any(k.isupper() for k in typed) and any(" tập " in k for k in typed)


def _normalized(keyword: str) -> str:
    return " ".join(unicodedata.normalize("NFC", keyword).split()).lower()


def test_all_four_tastes_occur(searches):
    genre_of = {
        _normalized(spell(t.text, style, salt)): t.genre
        for t in SEARCH_TITLES
        for style in STYLES
        for salt in (0, 1)
    }
    valid = searches.dropna(subset=["user_id", "keyword"])
    valid = valid.assign(keyword=valid["keyword"].map(_normalized), month=valid["day"].str[4:6])
    counts = valid.groupby(["month", "user_id", "keyword"]).size().reset_index(name="n")
    top = counts.sort_values(["n", "keyword"], ascending=[False, True]).drop_duplicates(
        ["month", "user_id"]
    )
    genre = top.assign(genre=top["keyword"].map(genre_of)).pivot(
        index="user_id", columns="month", values="genre"
    )
    both = genre.dropna()
    assert (both["06"] == both["07"]).any() and (both["06"] != both["07"]).any()
    users = top.groupby("user_id")["month"].agg(set)
    assert (users == {"06"}).any() and (users == {"07"}).any()


def test_lexicon_covers_the_fourteen_categories():
    assert len(GENRES) == 14
    assert {title.genre for title in SEARCH_TITLES} == set(GENRES)
    texts = [title.text for title in SEARCH_TITLES]
    assert len({text.lower() for text in texts}) == len(texts)
    assert all(unicodedata.normalize("NFC", text) == text for text in texts)


def test_cli_writes_the_requested_files(tmp_path, capsys):
    args = ["--out", str(tmp_path), "--content-start", "2022-05-01", "--content-days", "2"]
    assert main([*args, "--lines-per-day", "1000", "--no-search", "--seed", "3"]) == 0
    assert sorted(_files(tmp_path)) == ["log_content/20220501.json", "log_content/20220502.json"]
    assert "log_content/20220501.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    assert help_exit.value.code == 0
