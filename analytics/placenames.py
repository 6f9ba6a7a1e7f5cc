"""English forms of Chinese proper names: places and the facilities named after them.

A name is written the way Chinese place names are romanised for use in English (GB/T
16159-2012 *Basic rules of the Chinese phonetic alphabet orthography*; GB/T 30240.1-2013
*Guidelines for the use of English in public service areas*, on names of public places and
institutions): the specific part of each administrative unit in Hanyu Pinyin, as
one capitalised word without tone marks (an apostrophe where a syllable starting with a, o
or e would run into the one before it: 临安 Lin'an; a one-syllable specific keeps its generic
in the pinyin: 单县 Shanxian County), and the generic part translated
(街道 Subdistrict, 镇 Town, 社区 Community, 村 Village, 区 District, 县 County, 市 City, …).
A facility's kind is translated as a whole (幼儿园 Kindergarten, 社区卫生服务中心 Community
Health Service Centre, …) and an ordinal before it is numbered (第三 No. 3), so the words stay
in the Chinese order, larger unit first::

    东山街道第三幼儿园  ->  Dongshan Subdistrict No. 3 Kindergarten

The syllables come from ``pypinyin`` in phrase mode (its word list settles most characters
with several readings: 重庆 Chongqing, 厦门 Xiamen, 六安 Lu'an). Place names read some
characters differently from everyday words, so a few readings take precedence: characters
that in a place name almost always have one reading (长 chang as in 长兴 Changxing, 朝 chao,
乐 le, 柏 bai, 单 shan, 都 du, 浒 xu) and whole place words whose reading the everyday word list gets
wrong (朝阳 Chaoyang, 乐清 Yueqing, 长子 Zhangzi). Each specific is romanised on its own, so
a word is never read across a unit boundary (…街道长庆… is not 道长 *daozhang*).

A name that does not split into known parts (a department's register may hold anything)
still gets a pinyin form: a run of up to four Chinese characters as one capitalised word, a
longer run cut where pypinyin's word list knows a word, other characters kept as they are
(浙江大学医学院附属第一医院 -> Zhejiangdaxue Yixueyuan Fushu No. 1 Hospital).

>>> romanise("东山街道第三幼儿园")
'Dongshan Subdistrict No. 3 Kindergarten'
>>> romanise("杭州市西湖区文新街道社区卫生服务中心")
'Hangzhou City Xihu District Wenxin Subdistrict Community Health Service Centre'
>>> romanise("长兴县长庆街道")
'Changxing County Changqing Subdistrict'
>>> both_forms("建德市宁信镇富石村居家养老服务照料中心")
'Jiande City Ningxin Town Fushi Village Home-based Elderly Day-care Centre (建德市宁信镇富石村居家养老服务照料中心)'
>>> pinyin_word("临安"), pinyin_word("重庆")
("Lin'an", 'Chongqing')
"""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import lazy_pinyin
from pypinyin.seg.mmseg import seg

#: Generic parts of administrative units, longest first where one ends another.
GENERICS: dict[str, str] = {
    "自治县": "Autonomous County", "开发区": "Development Zone", "新区": "New Area",
    "街道": "Subdistrict", "社区": "Community", "省": "Province", "市": "City",
    "区": "District", "县": "County", "旗": "Banner", "镇": "Town", "乡": "Township",
    "村": "Village",
}

#: Kinds of facility, translated whole (matched at the end of a name, longest first).
KINDS: dict[str, str] = {
    "居家养老服务照料中心": "Home-based Elderly Day-care Centre",
    "居家养老服务中心": "Home-based Elderly Care Service Centre",
    "日间照料中心": "Day-care Centre",
    "养老服务中心": "Elderly Care Service Centre",
    "社会福利院": "Social Welfare Home",
    "福利院": "Welfare Home",
    "养老院": "Elderly Care Home",
    "敬老院": "Elderly Care Home",
    "社区卫生服务中心": "Community Health Service Centre",
    "社区卫生服务站": "Community Health Service Station",
    "中心卫生院": "Central Health Centre",
    "卫生院": "Health Centre",
    "卫生室": "Clinic",
    "妇幼保健院": "Maternal and Child Health Hospital",
    "中医医院": "Hospital of Traditional Chinese Medicine",
    "中医院": "Hospital of Traditional Chinese Medicine",
    "人民医院": "People's Hospital",
    "医院": "Hospital",
    "托育园": "Nursery",
    "托育中心": "Nursery Centre",
    "托儿所": "Nursery",
    "中心幼儿园": "Central Kindergarten",
    "幼儿园": "Kindergarten",
    "中心小学": "Central Primary School",
    "实验小学": "Experimental Primary School",
    "小学": "Primary School",
    "初级中学": "Junior Middle School",
    "初中": "Junior Middle School",
    "高级中学": "Senior High School",
    "中学": "Middle School",
    "学校": "School",
    "院区": "Campus",
    "分院": "Branch",
}

#: Readings a character has in place names, taking precedence over its everyday reading.
PLACE_READINGS: dict[str, str] = {
    "长": "chang", "朝": "chao", "重": "chong", "乐": "le", "柏": "bai", "单": "shan",
    "浒": "xu", "堡": "bao", "弄": "long", "会": "hui", "台": "tai", "六": "liu",
    "都": "du", "浚": "xun", "曾": "zeng",
}

#: Place words read unlike the everyday word or unlike :data:`PLACE_READINGS`.
PLACE_WORDS: dict[str, tuple[str, ...]] = {
    "朝阳": ("chao", "yang"), "朝晖": ("chao", "hui"), "朝歌": ("zhao", "ge"),
    "乐清": ("yue", "qing"), "乐亭": ("lao", "ting"), "长子": ("zhang", "zi"),
    "六安": ("lu", "an"), "六合": ("lu", "he"), "会稽": ("kuai", "ji"),
    "天台": ("tian", "tai"), "台州": ("tai", "zhou"), "十里堡": ("shi", "li", "pu"),
    "吴堡": ("wu", "bu"), "柏林": ("bai", "lin"), "涡阳": ("guo", "yang"),
    "筠连": ("jun", "lian"), "珲春": ("hun", "chun"), "洪洞": ("hong", "tong"),
}

_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_HAN = re.compile(r"[\u3400-\u9fff]")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+|[^\u3400-\u9fff]+")
_UNIT = re.compile(r"(?P<spec>[\u3400-\u9fff]{2,}?)(?P<gen>"
                   + "|".join(sorted(GENERICS, key=len, reverse=True)) + ")")
_MONO = re.compile(r"^[\u3400-\u9fff](?P<gen>省|市|区|县|旗|镇|乡|村)$")
_ORDINAL = re.compile(r"第(?P<n>[零一二两三四五六七八九十百]+|\d+)$")
_KIND = sorted(KINDS, key=len, reverse=True)
_PLACE_WORD_ORDER = sorted(PLACE_WORDS, key=len, reverse=True)
_BRACKET = re.compile(r"[（(](?P<inner>[^（()）]*)[)）]")


def chinese_number(text: str) -> int:
    """The value of a number written in Chinese numerals up to 999 (or in digits).

    >>> chinese_number("三"), chinese_number("十二"), chinese_number("二十三"), chinese_number("一百零五")
    (3, 12, 23, 105)
    """
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


def syllables(text: str) -> list[str]:
    """Toneless pinyin syllables of Chinese ``text`` read as a place name (ü kept): the
    place words of :data:`PLACE_WORDS` where they occur, the rest by pypinyin's phrase mode
    with the place readings of :data:`PLACE_READINGS` taking precedence.

    >>> syllables("长兴"), syllables("重庆"), syllables("朝阳"), syllables("绿园")
    (['chang', 'xing'], ['chong', 'qing'], ['chao', 'yang'], ['lü', 'yuan'])
    """
    out: list[str] = []
    plain = ""
    i = 0
    while i < len(text):
        word = next((w for w in _PLACE_WORD_ORDER if text.startswith(w, i)), "")
        if word:
            out.extend(_everyday(plain))
            out.extend(PLACE_WORDS[word])
            plain, i = "", i + len(word)
        else:
            plain, i = plain + text[i], i + 1
    out.extend(_everyday(plain))
    return out


def _everyday(text: str) -> list[str]:
    """pypinyin in phrase mode, then the place reading of each character that has one."""
    if not text:
        return []
    read = lazy_pinyin(text, v_to_u=True)
    if len(read) != len(text):  # something not Han slipped in: take pypinyin's reading
        return read
    return [PLACE_READINGS.get(ch, syl) for ch, syl in zip(text, read, strict=True)]


def pinyin_word(text: str) -> str:
    """One capitalised pinyin word for Chinese ``text`` (``""`` for ``""``).

    >>> pinyin_word("西安"), pinyin_word("东山"), pinyin_word("蚌埠")
    ("Xi'an", 'Dongshan', 'Bengbu')
    """
    syl = [s for s in syllables(text) if s]
    if not syl:
        return ""
    word = syl[0] + "".join(("'" + s) if s[:1] in "aoe" else s for s in syl[1:])
    return word[:1].upper() + word[1:].lower()


def _free_pinyin(text: str) -> str:
    """Pinyin of text that does not split into known parts, other characters kept as they
    are (``DC2 名称`` -> ``DC2 Mingcheng``). A run of Chinese characters is one word, except
    that a long run is cut where pypinyin's word list knows a word (浙江大学医学院附属 ->
    ``Zhejiangdaxue Yixueyuan Fushu``); the characters between such words stay together."""
    parts = []
    for run in _HAN_RUN.findall(text):
        if not _HAN.match(run):
            parts.append(run.strip())
        elif len(run) <= 4:
            parts.append(pinyin_word(run))
        else:
            words, single = [], ""
            for w in seg.cut(run):
                if len(w) == 1:
                    single += w
                    continue
                words.extend([single, w] if single else [w])
                single = ""
            words.append(single)
            parts.extend(pinyin_word(w) for w in words if w)
    return " ".join(p for p in parts if p)


@lru_cache(maxsize=65536)
def romanise(name: str) -> str:
    """The English form of a Chinese place or facility name (see the module docstring).

    A name with no Chinese characters is returned as it is; brackets are kept, their
    contents romanised.

    >>> romanise("西湖区明潮街道第二居家养老服务照料中心")
    'Xihu District Mingchao Subdistrict No. 2 Home-based Elderly Day-care Centre'
    >>> romanise("杭州市第一人民医院（西湖院区）")
    "Hangzhou City No. 1 People's Hospital (Xihu Campus)"
    """
    name = str(name).strip()
    if not _HAN.search(name):
        return name
    bracket = _BRACKET.search(name)
    if bracket:
        inner = romanise(bracket.group("inner"))
        head, tail = romanise(name[: bracket.start()]), romanise(name[bracket.end():])
        return " ".join(p for p in (head, f"({inner})" if inner else "", tail) if p)
    words: list[str] = []
    rest = name
    kind = next((k for k in _KIND if rest.endswith(k)), "")
    rest = rest[: len(rest) - len(kind)]
    ordinal = _ORDINAL.search(rest)
    number = ""
    if ordinal:
        number = f"No. {chinese_number(ordinal.group('n'))}"
        rest = rest[: ordinal.start()]
    while rest:
        unit = _UNIT.match(rest)
        if not unit:
            break
        words.append(f"{pinyin_word(unit.group('spec'))} {GENERICS[unit.group('gen')]}")
        rest = rest[unit.end():]
    mono = _MONO.match(rest)
    if mono:  # a one-syllable specific keeps its generic in the pinyin: 单县 Shanxian County
        words.append(f"{pinyin_word(rest)} {GENERICS[mono.group('gen')]}")
        rest = ""
    if rest:
        words.append(_free_pinyin(rest) if len(rest) > 1 or not words else pinyin_word(rest))
    words.extend(w for w in (number, KINDS.get(kind, "")) if w)
    return " ".join(words)


def both_forms(name: str) -> str:
    """``English (中文)`` for a Chinese name, as English pages show names; a name without
    Chinese characters as it is.

    >>> both_forms("东山街道第三幼儿园"), both_forms("P2 school")
    ('Dongshan Subdistrict No. 3 Kindergarten (东山街道第三幼儿园)', 'P2 school')
    """
    name = "" if name is None else str(name)
    english = romanise(name)
    return name if english == name else f"{english} ({name})"


__all__ = ["GENERICS", "KINDS", "PLACE_READINGS", "PLACE_WORDS", "both_forms",
           "chinese_number", "pinyin_word", "romanise", "syllables"]
