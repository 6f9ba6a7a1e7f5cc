"""Disclosure control on hand-worked cases: suppression, masking, k-anonymity."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analytics.opendata import privacy

KEY = privacy.derive_key("00" * 32, "application:test")


def hand_table() -> pd.DataFrame:
    # district x group, published with both margins (district totals and group totals):
    #        g1  g2  g3 | total
    #   A    25   3  40 |   68
    #   B    12  30   0 |   42
    return pd.DataFrame({"district": ["A", "A", "A", "B", "B", "B"],
                         "group": ["g1", "g2", "g3", "g1", "g2", "g3"],
                         "persons": [25, 3, 40, 12, 30, 0]})


def test_suppression_hand_worked():
    out, report = privacy.suppress_small_counts(hand_table(), "persons",
                                                (("district",), ("group",)))
    # Worked by hand: A/g2 = 3 is primary. Row A is then alone -> its smallest visible
    # non-zero (A/g1 = 25) goes too. Column g1 is then alone -> B/g1 = 12; column g2 alone ->
    # B/g2 = 30. Every row and column now has 0 or >= 2 blanks; 40 and the zero stay.
    assert out["persons"].isna().tolist() == [True, True, False, True, True, False]
    assert out["persons"].dropna().tolist() == [40, 0]
    assert (report.primary_suppressed, report.secondary_suppressed) == (1, 3)


def test_no_small_cell_published_and_differencing_fails():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": np.repeat(np.arange(20), 12), "b": np.tile(np.arange(12), 20),
                          "n": rng.integers(0, 30, 240)})
    margins = (("a",), ("b",))
    out, _ = privacy.suppress_small_counts(frame, "n", margins)
    shown = out["n"].dropna()
    assert not ((shown >= 1) & (shown <= 9)).any()
    blank = out["n"].isna()
    for m in margins:
        per_group = blank.groupby(frame[list(m)].apply(tuple, axis=1)).sum()
        # total minus visible cells reveals a value only when a group has exactly one blank
        assert (per_group != 1).all()


def test_suppression_arrow_agrees_with_pandas():
    frame = hand_table()
    out, _ = privacy.suppress_small_counts(frame, "persons", (("district",), ("group",)))
    table, report = privacy.suppress_small_counts_arrow(
        pa.Table.from_pandas(frame), "persons", (("district",), ("group",)))
    assert table["persons"].to_pylist() == [None, None, 40, None, None, 0]
    assert out["persons"].isna().tolist() == [v is None for v in table["persons"].to_pylist()]
    assert report.secondary_suppressed == 3


def test_prc_id_check_digit_of_the_standard_example():
    # GB 11643-1999 example: 11010519491231002X
    assert privacy.prc_id_check_digit("11010519491231002") == "X"
    assert privacy.is_valid_prc_id("11010519491231002X")
    assert not privacy.is_valid_prc_id("110105194912310021")  # wrong check digit
    assert not privacy.is_valid_prc_id("110105194913310028")  # month 13


def test_masked_ids_keep_format_and_cannot_be_mapped_back():
    original = "11010519491231002X"
    masked = privacy.mask_prc_id(original, KEY)
    assert masked != original and len(masked) == 18
    assert privacy.is_valid_prc_id(masked)
    assert masked[:6] == original[:6]                 # region kept
    assert int(masked[16]) % 2 == int(original[16]) % 2  # sex digit parity kept
    assert privacy.mask_prc_id(original, KEY) == masked  # stable within one extract
    other_key = privacy.derive_key("11" * 32, "application:test")
    assert privacy.mask_prc_id(original, other_key) != masked
    # An attacker without the key who masks every candidate of the same region and birth
    # date (all 1,000 sequence numbers) with any key he can guess does not hit the value.
    candidates = [f"11010519491231{s:03d}" for s in range(1000)]
    candidates = [c + privacy.prc_id_check_digit(c) for c in candidates]
    guesses = {privacy.mask_prc_id(c, other_key) for c in candidates}
    assert masked not in guesses
    # And a plain (unkeyed) hash of the candidates cannot be compared at all: the masked
    # value is no function of the ID alone (two keys, two values).


def test_masked_phones_and_names_keep_shape():
    phone = privacy.mask_phone("13812345678", KEY)
    assert len(phone) == 11 and phone.isdigit() and phone[:3] == "138" and phone != "13812345678"
    name = privacy.mask_name("欧阳娜娜", KEY)
    assert len(name) == 4 and name != "欧阳娜娜"
    assert all("\u4e00" <= ch <= "\u9fff" for ch in name)


def test_k_anonymity_hand_case():
    frame = pd.DataFrame({"sex": ["M"] * 5 + ["F"] * 3 + ["M"] * 6,
                          "band": ["60-64"] * 5 + ["60-64"] * 3 + ["65-69"] * 6,
                          "x": range(14)})
    assert not privacy.is_k_anonymous(frame, ("sex", "band"), 5)
    report = privacy.DisclosureReport()
    out = privacy.enforce_k_anonymity(frame, ("sex", "band"), 5, report)
    assert len(out) == 11 and report.withheld_rows == 3      # the 3 women aged 60-64
    assert set(out["x"]) == set(range(5)) | set(range(8, 14))
    assert privacy.is_k_anonymous(out, ("sex", "band"), 5)


def test_age_bands():
    bands = privacy.age_band(pd.Series([60, 64, 65, 89, 90, 103]))
    assert bands.tolist() == ["60-64", "60-64", "65-69", "85-89", "90+", "90+"]


@pytest.mark.parametrize("value", [0, 10, 250])
def test_counts_outside_1_to_9_stay(value):
    out, report = privacy.suppress_small_counts(pd.DataFrame({"n": [value]}), "n")
    assert out["n"].tolist() == [value] and report.primary_suppressed == 0
