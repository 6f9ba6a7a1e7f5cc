"""Disclosure control: small-cell suppression, masking of personal fields, k-anonymity.

Written here because no maintained Python library covers what a Chinese open-data portal
needs: sdcMicro and tau-Argus are R/Java tools, and none knows the PRC resident ID format.
The methods are the textbook ones:

* counts of 1-9 in a published table are suppressed (primary suppression), and in every
  grouping whose total is published elsewhere (a *margin*) a group that would have exactly
  one suppressed cell gets a second one (secondary suppression), so "total minus the
  visible cells" never reveals a suppressed count (Hundepool et al., *Statistical
  Disclosure Control*, Wiley 2012, ch. 4);
* personal identifiers are replaced by keyed HMAC-SHA256 pseudonyms that keep the shape
  (an 18-character ID with a valid GB 11643-1999 check digit, an 11-digit mobile number, a
  Chinese name of the same length). A plain hash of an ID or phone number can be reversed
  by hashing the small space of candidates; a keyed HMAC cannot without the key, which
  lives outside the store (a key file of mode 600 beside it, or an environment variable)
  and never in an export;
* before a record-level export every combination of quasi-identifiers must occur at least
  k = 5 times (Sweeney 2002); records in smaller groups are withheld.

Every function returns (or fills) a :class:`DisclosureReport` of what it did.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.population.residents import AGE_GROUPS

SMALL_LOW, SMALL_HIGH = 1, 9
K_MIN = 5

#: GB 11643-1999 weights of the first 17 characters and the check characters by remainder.
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = "10X98765432"

#: Common Chinese surnames and given-name characters, for pseudonymous names.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬建国文辉力斌宇浩凯健俊帆帅旭宁龙林欣梅琳瑶颖慧巧美淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽")


@dataclass
class DisclosureReport:
    """What disclosure control did to one output, in words a reader can check."""

    dataset_id: str = ""
    rows_in: int = 0
    rows_out: int = 0
    primary_suppressed: int = 0
    secondary_suppressed: int = 0
    masked: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    k: int | None = None
    quasi_identifiers: list[str] = field(default_factory=list)
    withheld_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def merge(self, other: DisclosureReport) -> None:
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.primary_suppressed += other.primary_suppressed
        self.secondary_suppressed += other.secondary_suppressed
        for k, v in other.masked.items():
            self.masked[k] = self.masked.get(k, 0) + v
        self.withheld_rows += other.withheld_rows
        self.dropped_columns = sorted(set(self.dropped_columns) | set(other.dropped_columns))
        self.notes += [n for n in other.notes if n not in self.notes]
        self.k = self.k or other.k
        self.quasi_identifiers = self.quasi_identifiers or other.quasi_identifiers

    def lines(self) -> list[str]:
        out = [f"rows in {self.rows_in:,}, rows out {self.rows_out:,}"]
        if self.primary_suppressed or self.secondary_suppressed:
            out.append(f"suppressed: {self.primary_suppressed:,} counts of {SMALL_LOW}-{SMALL_HIGH} "
                       f"(primary) and {self.secondary_suppressed:,} more so that published totals "
                       "cannot reveal them (secondary); suppressed values are empty")
        for col, n in self.masked.items():
            out.append(f"masked: {col} in {n:,} rows (keyed HMAC pseudonym, same format)")
        if self.dropped_columns:
            out.append("columns withheld: " + ", ".join(self.dropped_columns))
        if self.k:
            out.append(f"k-anonymity: every combination of {', '.join(self.quasi_identifiers)} "
                       f"occurs at least {self.k} times; {self.withheld_rows:,} rows in smaller "
                       "groups withheld")
        out += self.notes
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


# -- small-cell suppression -------------------------------------------------------------------
def suppression_mask(values: np.ndarray, group_ids: list[np.ndarray], low: int = SMALL_LOW,
                     high: int = SMALL_HIGH) -> tuple[np.ndarray, int, int]:
    """Which cells to blank: ``(mask, primary, secondary)``.

    ``group_ids`` holds, for each margin (a grouping whose totals are known to the reader),
    a compact group number per row. In each margin group with exactly one suppressed cell,
    the smallest visible non-zero cell (or a zero, if there is none) is suppressed too; this
    repeats over all margins until no group has a lone suppressed cell.
    """
    values = np.asarray(values, dtype="float64")
    mask = (values >= low) & (values <= high)
    primary = int(mask.sum())
    secondary = 0
    changed = True
    while changed and mask.any():
        changed = False
        for gid in group_ids:
            count = np.bincount(gid, weights=mask.astype(np.float64), minlength=int(gid.max()) + 1)
            cand = np.flatnonzero((count[gid] == 1) & ~mask)
            if not len(cand):
                continue
            v = values[cand]
            ranked = cand[np.lexsort((v, v == 0, gid[cand]))]
            _, first = np.unique(gid[ranked], return_index=True)
            mask[ranked[first]] = True
            secondary += len(first)
            changed = True
    return mask, primary, secondary


def _codes(column) -> np.ndarray:
    """Compact integer codes of one key column (pandas Series, numpy or Arrow array)."""
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not (pa.types.is_integer(column.type) and column.null_count == 0):
            return column.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
        column = column.to_numpy()
    values = np.asarray(column)
    if values.dtype.kind in "iu" and len(values):
        if len(values) > 1 and (values[1:] >= values[:-1]).all():
            # sorted (tables are stored in key order): runs are the groups, no hashing
            return np.concatenate(([0], np.cumsum(values[1:] != values[:-1]))).astype(np.int64)
        lo, hi = values.min(), values.max()
        if int(hi) - int(lo) < 10_000_000:  # small range: offsets are codes, no hashing needed
            return (values - lo).astype(np.int64)
    return pd.factorize(values, use_na_sentinel=False)[0].astype(np.int64)


def margin_ids(columns: dict, margins: tuple[tuple[str, ...], ...]) -> list[np.ndarray]:
    """One group number per row for each margin (``columns``: name -> array)."""
    cache: dict[str, np.ndarray] = {}
    out = []
    for margin in margins:
        combined = np.zeros(len(next(iter(columns.values()))), dtype=np.int64)
        size = 1
        for col in margin:
            if col not in cache:
                cache[col] = _codes(columns[col])
            codes = cache[col]
            n = int(codes.max()) + 1 if len(codes) else 1
            combined = combined * n + codes
            size *= n
            if size > 50_000_000:  # keep the numbers small enough for bincount
                combined = pd.factorize(combined)[0].astype(np.int64)
                size = int(combined.max()) + 1 if len(combined) else 1
        out.append(combined)
    return out


def margin_column(table, name: str):
    """A key column of a margin; ``age_group`` is derived from ``age`` where a table has single
    years of age, so a table by single age is protected against the service-age-group totals
    that the cell table (and every analysis) publishes."""
    names = table.column_names if isinstance(table, pa.Table) else list(table.columns)
    if name == "age_group" and name not in names and "age" in names:
        bounds = np.array([hi for lo, hi in AGE_GROUPS.values()])
        ages = np.asarray(table["age"].to_numpy() if isinstance(table, pa.Table) else
                          table["age"].to_numpy(), dtype=np.int64)
        return np.searchsorted(bounds, ages).astype(np.int64)
    return table[name]


def suppress_small_counts(frame: pd.DataFrame, column: str,
                          margins: tuple[tuple[str, ...], ...] = (),
                          low: int = SMALL_LOW, high: int = SMALL_HIGH
                          ) -> tuple[pd.DataFrame, DisclosureReport]:
    """Blank counts in ``low..high`` (and their complements): see :func:`suppression_mask`.

    Returns the frame with ``column`` as nullable Int64 (blank where suppressed).
    """
    report = DisclosureReport(rows_in=len(frame), rows_out=len(frame))
    values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    ids = (margin_ids({c: margin_column(frame, c) for m in margins for c in m}, margins)
           if len(frame) else [])
    mask, report.primary_suppressed, report.secondary_suppressed = suppression_mask(
        values, ids, low, high)
    out = frame.copy()
    col = pd.array(values, dtype="Float64").round().astype("Int64")
    col[mask] = pd.NA
    out[column] = col
    return out, report


def suppress_small_counts_arrow(table: pa.Table, column: str,
                                margins: tuple[tuple[str, ...], ...] = ()
                                ) -> tuple[pa.Table, DisclosureReport]:
    """:func:`suppress_small_counts` on an Arrow table (no pandas copy: large exports)."""
    report = DisclosureReport(rows_in=table.num_rows, rows_out=table.num_rows)
    if table.num_rows == 0:
        return table, report
    values = table[column].to_numpy(zero_copy_only=False).astype("float64")
    ids = margin_ids({c: margin_column(table, c) for m in margins for c in m}, margins)
    mask, report.primary_suppressed, report.secondary_suppressed = suppression_mask(values, ids)
    new = pa.array(np.round(values).astype(np.int64), mask=mask | np.isnan(values), type=pa.int64())
    return table.set_column(table.schema.get_field_index(column), column, new), report


# -- rounding (counts below district level) ----------------------------------------------------
ROUNDING_BASE = 10


def round_counts(values, base: int = ROUNDING_BASE, low: int = SMALL_LOW, high: int = SMALL_HIGH,
                 parts=None) -> tuple[np.ndarray, int, int]:
    """Counts as published below district level: ``(values, suppressed, rounded)``.

    Counts of ``low..high`` are blank (NaN); every other count is rounded to the nearest
    multiple of ``base`` (halves up), so no exact count of people below district level is ever
    published. With base 10 the rounded total of any group of cells differs from the true one
    by -5..+4 per count, and an interval of that width around a blank (1-9) never pins its
    value: differencing the exact district tables against rounded cells recovers nothing
    (Office for National Statistics, *Census 2021 statistical disclosure control*, rounding;
    Hundepool et al. 2012, ch. 5.4).

    >>> round_counts([0, 3, 14, 15, 9, 10, 104])[0].tolist()
    [0.0, nan, 10.0, 20.0, nan, 10.0, 100.0]

    ``parts``: for a sum, how many non-zero counts it adds up (each at least 1, as the cell
    table shows). A blank then means ``parts..9``; with 9 parts that pins every part at 1, so
    such a sum is rounded (to 10) instead of blanked.
    """
    v = np.asarray(values, dtype="float64")
    small = (v >= low) & (v <= high)
    if parts is not None:
        small &= np.asarray(parts, dtype="float64") < high
    out = np.floor(v / base + 0.5) * base
    out[small] = np.nan
    changed = ~small & ~np.isnan(v) & (out != v)
    return out, int(small.sum()), int(changed.sum())


def round_counts_arrow(table: pa.Table, column: str, base: int = ROUNDING_BASE
                       ) -> tuple[pa.Table, DisclosureReport]:
    """:func:`round_counts` on an Arrow column (blank as null)."""
    report = DisclosureReport(rows_in=table.num_rows, rows_out=table.num_rows)
    if table.num_rows == 0:
        return table, report
    values = table[column].to_numpy(zero_copy_only=False).astype("float64")
    out, report.primary_suppressed, rounded = round_counts(values, base)
    if rounded:
        report.notes.append(f"counts below district level rounded to the nearest {base} "
                            f"(1-9 blank)")
    nan = np.isnan(out)
    new = pa.array(np.where(nan, 0, out).astype(np.int64), mask=nan, type=pa.int64())
    return table.set_column(table.schema.get_field_index(column), column, new), report


def released_sum(frame: pd.DataFrame, by: list[str], column: str) -> pd.Series:
    """Sums of released counts, blank where any part was blank (suppressed).

    A sum over published counts tells nothing new when all its parts are visible; a sum
    that included a suppressed part would give it away by differencing, so it is blank too.
    """
    g = frame.groupby(by, sort=True)[column]
    total = g.sum(min_count=1)
    blanks = frame[column].isna().groupby([frame[c] for c in by], sort=True).any()
    return total.astype("Float64").mask(blanks.reindex(total.index).to_numpy()).astype("Int64")


# -- masking ------------------------------------------------------------------------------------
def new_secret() -> str:
    return secrets.token_hex(32)


def derive_key(secret_hex: str, context: str) -> bytes:
    """A key for one purpose (e.g. one application), so extracts cannot be linked to each other."""
    return hmac.new(bytes.fromhex(secret_hex), context.encode(), hashlib.sha256).digest()


def _digest(key: bytes, kind: str, value: str) -> int:
    return int.from_bytes(hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest(), "big")


def prc_id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits."""
    total = int(np.dot(np.frombuffer(first17.encode(), dtype=np.uint8) - 48, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def is_valid_prc_id(value: str) -> bool:
    """18 characters, 17 digits then a correct check character, and a real date of birth."""
    if not isinstance(value, str) or len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return value[17] == prc_id_check_digit(value[:17])


def mask_prc_id(value: str, key: bytes) -> str:
    """Keep the 6-digit region code and the sex digit's parity; replace date and sequence.

    The result is a valid-format ID (real calendar date, correct check digit) whose date and
    sequence come from the HMAC, so it says nothing about the person's birth date.
    """
    h = _digest(key, "prc_id", value)
    born = date(1900, 1, 1) + timedelta(days=h % 36524)  # 1900-01-01 .. 1999-12-31
    seq = (h >> 20) % 500 * 2 + (int(value[16]) % 2 if value[16:17].isdigit() else 0)
    first17 = value[:6] + born.strftime("%Y%m%d") + f"{seq:03d}"
    return first17 + prc_id_check_digit(first17)


def mask_phone(value: str, key: bytes) -> str:
    """Keep the 3-digit carrier prefix of an 11-digit mobile number; replace the 8 others."""
    h = _digest(key, "phone", value)
    return value[:3] + f"{h % 10**8:08d}"


def mask_name(value: str, key: bytes) -> str:
    """A pseudonymous Chinese name of the same length (surname and given name both replaced)."""
    h = _digest(key, "name", value)
    out = [SURNAMES[h % len(SURNAMES)]]
    h //= len(SURNAMES)
    for _ in range(max(len(value) - 1, 1)):
        out.append(GIVEN[h % len(GIVEN)])
        h //= len(GIVEN)
    return "".join(out)


MASKERS = {"prc_id": mask_prc_id, "phone": mask_phone, "name": mask_name}


def mask_columns(frame: pd.DataFrame, columns: tuple[tuple[str, str], ...], key: bytes,
                 report: DisclosureReport | None = None) -> pd.DataFrame:
    out = frame.copy()
    for col, kind in columns:
        if col not in out.columns:
            continue
        fn = MASKERS[kind]
        out[col] = [fn(str(v), key) if pd.notna(v) else v for v in out[col]]
        if report is not None:
            report.masked[col] = report.masked.get(col, 0) + int(out[col].notna().sum())
    return out


# -- k-anonymity ----------------------------------------------------------------------------
def group_sizes(frame: pd.DataFrame, quasi_identifiers: tuple[str, ...]) -> pd.Series:
    """For each row, how many rows share its combination of quasi-identifiers."""
    return frame.groupby(list(quasi_identifiers), dropna=False)[quasi_identifiers[0]].transform("size")


def is_k_anonymous(frame: pd.DataFrame, quasi_identifiers: tuple[str, ...], k: int = K_MIN) -> bool:
    return frame.empty or int(group_sizes(frame, quasi_identifiers).min()) >= k


def enforce_k_anonymity(frame: pd.DataFrame, quasi_identifiers: tuple[str, ...], k: int = K_MIN,
                        report: DisclosureReport | None = None) -> pd.DataFrame:
    """Withhold the rows whose quasi-identifier combination occurs fewer than ``k`` times."""
    if frame.empty:
        return frame
    keep = group_sizes(frame, quasi_identifiers) >= k
    out = frame[keep.to_numpy()].reset_index(drop=True)
    if report is not None:
        report.k = k
        report.quasi_identifiers = list(quasi_identifiers)
        report.withheld_rows += int((~keep).sum())
    assert is_k_anonymous(out, quasi_identifiers, k)
    return out


def age_band(age: pd.Series) -> pd.Series:
    """Five-year bands from 60 (60-64 … 85-89), then 90+: the tails are where people are rare."""
    a = age.astype(int).clip(upper=90)
    lo = (a // 5) * 5
    return pd.Series(np.where(a >= 90, "90+", lo.astype(str) + "-" + (lo + 4).astype(str)),
                     index=age.index)


# -- aggregates of confidential tables ------------------------------------------------------
def aggregate(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A named aggregate of a confidential table (before suppression)."""
    if name == "care_subsidy_by_district":
        keys = ["registry_year", "district_adcode", "age_group", "sex", "subsidy_type"]
        out = frame.groupby(keys, as_index=False).size().rename(columns={"size": "recipients"})
        return out.sort_values(keys).reset_index(drop=True)
    raise KeyError(f"no aggregate {name!r}")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
