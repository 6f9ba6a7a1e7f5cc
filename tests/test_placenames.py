"""English forms of Chinese place and facility names (issue 15), worked out by hand.

Each expected form is written from the rules of romanising place names (GB/T 16159 and the
national rules for place names): the specific in pinyin as one capitalised word without
tones, the generic and the facility's kind translated, an ordinal numbered. The readings of
the characters are the standard ones (Xiandai Hanyu Cidian), not taken from the library.
"""

from __future__ import annotations

import re

import pytest

from analytics import geo
from analytics.citygen import facilities as citygen
from analytics.placenames import both_forms, chinese_number, pinyin_word, romanise, syllables

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.parametrize("name, english", [
    # 东山 dōng shān; 街道 Subdistrict; 第三 the third; 幼儿园 Kindergarten
    ("东山街道第三幼儿园", "Dongshan Subdistrict No. 3 Kindergarten"),
    # a register's full name: city, district, sub-district, then the kind
    # (社区卫生服务中心 is the kind, not a 社区 community of a 文新街道 specific)
    ("杭州市西湖区文新街道社区卫生服务中心",
     "Hangzhou City Xihu District Wenxin Subdistrict Community Health Service Centre"),
    # the synthetic layer's forms (a town and its village; an urban sub-district)
    ("建德市宁信镇富石村居家养老服务照料中心",
     "Jiande City Ningxin Town Fushi Village Home-based Elderly Day-care Centre"),
    ("余杭区良渚街道第十二幼儿园", "Yuhang District Liangzhu Subdistrict No. 12 Kindergarten"),
    ("桐庐县分水镇卫生院", "Tonglu County Fenshui Town Health Centre"),
    ("上城区湖滨街道敬老院", "Shangcheng District Hubin Subdistrict Elderly Care Home"),
    ("拱墅区米市巷街道第二初级中学",
     "Gongshu District Mishixiang Subdistrict No. 2 Junior Middle School"),
    # 临安 lín ān: the apostrophe keeps the syllables apart (Lin'an, not Li-nan)
    ("临安区锦城街道托育园", "Lin'an District Jincheng Subdistrict Nursery"),
    # a one-syllable specific keeps its generic in the pinyin (单 shàn in 单县)
    ("单县", "Shanxian County"),
    ("仁和街道石村托育园", "Renhe Subdistrict Shicun Village Nursery"),
    # 新市镇: 市 inside a specific is not the generic "City"
    ("德清县新市镇小学", "Deqing County Xinshi Town Primary School"),
    # an ordinal before a kind that is not a place's generic
    ("杭州市第一人民医院", "Hangzhou City No. 1 People's Hospital"),
    ("杭州市第一人民医院（西湖院区）", "Hangzhou City No. 1 People's Hospital (Xihu Campus)"),
])
def test_names_in_english(name, english):
    assert romanise(name) == english


@pytest.mark.parametrize("name, english", [
    # heteronyms in place names: 重 chóng (not zhòng), 长 cháng (not zhǎng), 乐 yuè in 乐清
    # but lè in 长乐, 朝 cháo in 朝阳 / 朝晖 (not zhāo), 厦 xià in 厦门
    ("重庆市", "Chongqing City"),
    ("长兴县", "Changxing County"),
    ("拱墅区长庆街道", "Gongshu District Changqing Subdistrict"),
    ("乐清市", "Yueqing City"),
    ("长乐区", "Changle District"),
    ("朝阳区", "Chaoyang District"),
    ("下城区朝晖街道", "Xiacheng District Chaohui Subdistrict"),
    ("厦门市", "Xiamen City"),
    ("六安市", "Lu'an City"),
    # each specific is read alone: in 明潮街道长河社区 the 道 and 长 are two units' (read
    # together they would be 道长 dàozhǎng)
    ("明潮街道长河社区", "Mingchao Subdistrict Changhe Community"),
    # 都 dū in place names (not dōu), 曾 zēng, 涡 guō in 涡阳, 珲 hún in 珲春
    ("丽水市莲都区", "Lishui City Liandu District"),
    ("随州市曾都区", "Suizhou City Zengdu District"),
    ("涡阳县", "Guoyang County"),
    ("珲春市", "Hunchun City"),
    # ü is kept: 吕 lǚ
    ("吕梁市", "Lüliang City"),
])
def test_place_readings_of_heteronyms(name, english):
    assert romanise(name) == english


def test_names_that_do_not_split_still_get_a_pinyin_form():
    # no generic, no kind: 名称 míng chēng, the id kept as it is
    assert romanise("DC2 名称") == "DC2 Mingcheng"
    # a hospital's institutional name: words where pypinyin's list knows one (浙江大学),
    # the characters between kept together (医学院), then 附属 fù shǔ, No. 1 and the kind
    assert romanise("浙江大学医学院附属第一医院") == \
        "Zhejiangdaxue Yixueyuan Fushu No. 1 Hospital"
    assert romanise("P2 school") == "P2 school"
    assert romanise("") == ""


def test_every_synthetic_name_has_a_known_kind_and_no_chinese_left():
    """Every kind word the synthetic layer writes (urban and rural) is translated, with
    every ordinal it may put before it."""
    expected = {"养老院": "Elderly Care Home", "敬老院": "Elderly Care Home",
                "居家养老服务照料中心": "Home-based Elderly Day-care Centre",
                "社区卫生服务中心": "Community Health Service Centre", "卫生院": "Health Centre",
                "医院": "Hospital", "托育园": "Nursery", "幼儿园": "Kindergarten",
                "小学": "Primary School", "初级中学": "Junior Middle School"}
    words = {w for pair in citygen._KIND_WORDS.values() for w in pair}
    assert words == set(expected)
    for word in words:
        for k, number in ((1, ""), (2, "No. 2 "), (23, "No. 23 "), (105, "No. 105 ")):
            name = f"西湖区翠苑街道文新社区{citygen._ordinal(k)}{word}"
            assert romanise(name) == (f"Xihu District Cuiyuan Subdistrict Wenxin Community "
                                      f"{number}{expected[word]}")


def test_numbers_syllables_and_words():
    assert [chinese_number(s) for s in ("三", "十", "十二", "二十", "九十九", "一百零五", "7")] \
        == [3, 10, 12, 20, 99, 105, 7]
    assert syllables("长兴") == ["chang", "xing"]
    assert pinyin_word("西安") == "Xi'an" and pinyin_word("天台") == "Tiantai"
    # districts are named by the same rules
    assert geo.english_name("临安区") == "Lin'an District"
    assert geo.english_name("长兴县") == "Changxing County"


def test_both_forms():
    assert both_forms("东山街道第三幼儿园") == \
        "Dongshan Subdistrict No. 3 Kindergarten (东山街道第三幼儿园)"
    assert both_forms("P2 school") == "P2 school"
    assert both_forms(None) == ""
    assert not CJK.search(romanise("杭州市西湖区文新街道社区卫生服务中心"))
