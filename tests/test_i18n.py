"""Every UI string exists in both languages, and every key the code uses is defined."""

from __future__ import annotations

import re
import string
from pathlib import Path

from analytics import indicators
from dashboard.i18n import LANGUAGES, explain, table, translate
from dashboard.navigation import GROUP_ORDER, PAGES

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: English strings that carry Chinese on purpose (the language switch names both languages;
#: dataset names quote Chinese terms).
BILINGUAL = {"sidebar_language"}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_string_in_both_languages_with_the_same_placeholders():
    for key, entry in table().items():
        for lang in LANGUAGES:
            assert entry.get(lang, "").strip(), f"{key} has no {lang} text"
        assert fields(entry["zh"]) == fields(entry["en"]), key


def test_english_strings_hold_no_chinese_and_chinese_strings_do():
    for key, entry in table().items():
        if key in BILINGUAL:
            continue
        assert not CJK.search(entry["en"]), f"{key}: Chinese in the English text"
    for key in ["nav_overview", "page_overview", "page_trends", "ov_title", "tr_title"]:
        assert CJK.search(translate(key, "zh")), key


def test_every_key_the_code_uses_is_defined():
    used: set[str] = set()
    sources = [*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/**/*.py")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        # whole literal keys only (a prefix joined to a variable is checked by its page)
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", text))
        used |= set(re.findall(r"""translate\(\s*["']([a-z0-9_]+)["']\s*[,)]""", text))
    used |= {title for _, _, title, _ in PAGES} | set(GROUP_ORDER)
    for kpi in indicators.INDICATORS.values():
        used |= {f"src_{s}" for s in kpi.sources}
    missing = sorted(k for k in used if k not in table())
    assert not missing, f"UI string keys used but not defined: {missing}"


def test_unknown_key_is_visible_not_silent():
    assert translate("no_such_key", "zh") == "⟦no_such_key⟧"


def test_kpi_labels_in_both_languages():
    for kpi in indicators.INDICATORS.values():
        assert CJK.search(kpi.label_zh) and not CJK.search(kpi.label_en), kpi.id
        assert CJK.search(kpi.formula_zh) and not CJK.search(kpi.formula_en), kpi.id
        for band in kpi.bands:
            assert CJK.search(band.label_zh) and not CJK.search(band.label_en), kpi.id


def _codes_in_analytics() -> set[str]:
    """Every refusal code the library can raise: ``code="..."`` literals, the access rules'
    table, and the application levels (``apply_{level}``)."""
    from analytics.opendata import access

    codes = set(access.REFUSALS) | {"apply_public", "apply_confidential"}
    for path in (ROOT / "analytics").rglob("*.py"):
        codes |= set(re.findall(r'code="(\w+)"', path.read_text(encoding="utf-8")))
    return codes


def test_every_refusal_the_library_can_give_is_said_in_both_languages():
    from analytics.opendata import access

    missing = sorted(c for c in _codes_in_analytics() if f"reason_{c}" not in table())
    assert not missing, missing
    for code, english in access.REFUSALS.items():  # every placeholder is a value given
        given = fields(english) | {"dataset", "user", "application"}
        assert fields(translate(f"reason_{code}", "zh")) <= given, code


def test_explain_says_a_refusal_in_the_page_language():
    from analytics.errors import CityBrainError

    exc = CityBrainError("application A1 is pending, not approved", code="not_approved",
                         application="A1", status="pending", dataset="d", user="u")
    assert explain(exc, "en") == "application A1 is pending, not approved"
    zh = explain(exc, "zh")
    assert "A1" in zh and "pending" in zh and CJK.search(zh)
    # no code, or a code without text: the library's own message
    assert explain(CityBrainError("plain words"), "zh") == "plain words"
    assert explain(CityBrainError("other", code="no_such_code"), "zh") == "other"


def test_every_reason_a_reading_is_refused_for_is_named_in_both_languages():
    """The infrastructure page labels its refused-readings table by reason: each reason the
    door or the broker feed can record (the feed's are checked against the same list when
    it records them) has its text."""
    from analytics.sensors.pipeline import REJECT_REASONS

    assert {"flood", "malformed", "bad_topic", "out_of_range"} <= set(REJECT_REASONS)
    missing = sorted(r for r in REJECT_REASONS if f"sensors_reason_{r}" not in table())
    assert not missing, missing
