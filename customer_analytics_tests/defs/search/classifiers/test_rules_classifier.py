import asyncio
from datetime import UTC

import pytest

from customer_analytics.defs.search.classifiers.classifier import Classification, Usage
from customer_analytics.defs.search.classifiers.lexicon import (
    LEXICON,
    LEXICON_VERSION,
    WRITTEN_FORM_ONLY,
)
from customer_analytics.defs.search.classifiers.rules_classifier import (
    RulesClassifier,
    fold,
    tokens,
)
from customer_analytics.defs.search.rules import CATEGORIES

CLASSIFIER = RulesClassifier()

EXPECTED = {
    # With and without diacritics, and run together
    "nhà bà nữ": "Drama",
    "nha ba nu": "Drama",
    "hậu duệ mặt trời": "K Drama",
    "hau due mat troi": "K Drama",
    "hauduematroi": "K Drama",
    "descendants of the sun": "K Drama",
    "phim hàn quốc": "K Drama",
    "phimhanquoc": "K Drama",
    "tây du ký": "C Drama",
    "tay du ky 1986": "C Drama",
    "phim cổ trang": "C Drama",
    "phim trung quoc": "C Drama",
    # Football
    "tructiepbongdahomnay": "Sports",
    "bóng đá trực tiếp": "Sports",
    "ngoại hạng anh": "Sports",
    "sea games 31": "Sports",
    "manchester united": "Sports",
    "mancity": "Sports",
    # Match-ups
    "man city vs liverpool": "Sports",
    "viet nam vs thai lan": "Sports",
    "u23 việt nam v thái lan": "Sports",
    "freddy vs jason": "Horror",
    "alien vs predator": "Action",
    # Music, and markers that make a title a song search
    "karaoke": "Music",
    "bolero": "Music",
    "nhạc trữ tình": "Music",
    "nhac tru tinh": "Music",
    "sơn tùng mtp": "Music",
    "lienkhucbolero": "Music",
    "karaoke hậu duệ mặt trời": "Music",
    "hau due mat troi ost": "Music",
    # Channels
    "vtv3": "TV Channel",
    "htv7": "TV Channel",
    "vtv 3": "TV Channel",
    "xemvtv3": "TV Channel",
    "vtv1 trực tiếp": "TV Channel",
    "k+ sport 1": "TV Channel",
    "k+sport1": "TV Channel",
    "hbo": "TV Channel",
    "kênh hoạt hình": "TV Channel",
    # The longer phrase wins over a channel code inside it
    "thời sự vtv1": "News",
    "trực tiếp bóng đá vtv6": "Sports",
    "vtv24": "News",
    "bản tin": "News",
    "tin tức 24h": "News",
    "thoisu": "News",
    "ma": "Horror",
    "phim ma": "Horror",
    "kinh di": "Horror",
    "the conjuring": "Horror",
    "hài": "Comedy",
    "phim hai": "Comedy",
    "táo quân": "Comedy",
    "hoài linh": "Comedy",
    "hoạt hình": "Animation",
    "conan": "Animation",
    "conanthamtulungdanh": "Animation",
    "pokemon": "Animation",
    "doraemon": "Animation",
    "ngôn tình": "Romance",
    "tình yêu": "Romance",
    "hành động": "Action",
    "fast and furious": "Action",
    "john wick": "Action",
    # Episodes: the title decides; an unknown title with episodes is a series
    "running man": "Reality Show",
    "running man tập 5": "Reality Show",
    "runningman tap 10": "Reality Show",
    "2 ngày 1 đêm": "Reality Show",
    "rap việt": "Reality Show",
    "the voice": "Reality Show",
    "hậu duệ mặt trời tập 5": "K Drama",
    "diên hi công lược tập 70": "C Drama",
    "conan tập 1000": "Animation",
    "ngôi nhà xyz tập 12": "Drama",
    "xyz tap12": "Drama",
    # Short entries fire on whole words typed as written only
    "manhattan": "Other",
    "mama": "Other",
    "mà": "Other",
    "má ơi": "Other",
    "hai": "Other",
    "phần hai": "Other",
    "rạp chiếu phim": "Other",
    "quý": "Other",
    "quỷ": "Horror",
    "bóng đá trung quốc": "Sports",
    "xem phim": "Other",
    "": "Other",
}


@pytest.mark.parametrize(("keyword", "expected"), EXPECTED.items())
def test_category(keyword: str, expected: str) -> None:
    assert CLASSIFIER.category(keyword) == expected


def test_every_answer_is_one_of_the_fourteen() -> None:
    odd = ["!!!", "123", "k+", "vs", "a vs", "tập", "😀 phim", "电影 hay", "x" * 500]
    phrases = [phrase for category_phrases in LEXICON.values() for phrase in category_phrases]
    assert {CLASSIFIER.category(keyword) for keyword in odd + phrases} <= set(CATEGORIES)


def test_every_lexicon_phrase_classifies_as_its_category() -> None:
    """Guards the lexicon against a new phrase shadowed by a longer one or a rule."""
    wrong = {
        form: (category, CLASSIFIER.category(form))
        for category, phrases in LEXICON.items()
        for phrase in phrases
        for form in (
            phrase,
            f"{phrase} tập 3",
            *(() if phrase in WRITTEN_FORM_ONLY else (fold(phrase),)),
        )
        if CLASSIFIER.category(form) != category
    }
    assert wrong == {}


def test_no_phrase_sits_under_two_categories() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for category, phrases in LEXICON.items():
        for phrase in phrases:
            key = " ".join(fold(token) for token in tokens(phrase))
            if owner.setdefault(key, category) != category:
                clashes.append((phrase, owner[key], category))
    assert clashes == []


def test_major_categories_have_at_least_forty_phrases() -> None:
    assert {
        category: len(phrases) for category, phrases in LEXICON.items() if len(phrases) < 40
    } == {}


def test_fold_strips_vietnamese_diacritics() -> None:
    assert fold("hậu duệ mặt trời đà nẵng ĐỨC") == "hau due mat troi da nang DUC"


def test_an_unknown_category_in_the_lexicon_is_refused() -> None:
    with pytest.raises(ValueError, match="Thriller"):
        RulesClassifier({"Thriller": ("saw",)})


def test_a_custom_lexicon_extends_the_classifier() -> None:
    classifier = RulesClassifier({"Sports": ("pickleball",)}, model="test-lexicon")
    assert classifier.category("giai pickleball") == "Sports"
    assert classifier.category("hậu duệ mặt trời") == "Other"


def collect(classifier: RulesClassifier, keywords: list[str]) -> list[list[Classification]]:
    async def run() -> list[list[Classification]]:
        return [batch async for batch in classifier.classify(keywords)]

    return asyncio.run(run())


def test_classify_yields_batches_of_classifications() -> None:
    classifier = RulesClassifier(batch_size=2)
    keywords = ["vtv3", "running man", "xyz", "phim ma", "bolero"]

    batches = collect(classifier, keywords)

    assert [len(batch) for batch in batches] == [2, 2, 1]
    results = [c for batch in batches for c in batch]
    assert [(c.keyword, c.category) for c in results] == [
        ("vtv3", "TV Channel"),
        ("running man", "Reality Show"),
        ("xyz", "Other"),
        ("phim ma", "Horror"),
        ("bolero", "Music"),
    ]
    assert {(c.source, c.model) for c in results} == {("rules", LEXICON_VERSION)}
    assert all(c.classified_at.tzinfo == UTC for c in results)
    assert classifier.usage == Usage()


def test_classify_of_nothing_yields_nothing() -> None:
    assert collect(RulesClassifier(), []) == []


def test_model_is_the_lexicon_version() -> None:
    assert (CLASSIFIER.source, CLASSIFIER.model) == ("rules", "lexicon-v1")
