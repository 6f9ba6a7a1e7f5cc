"""Tables written as HTML: what a reader sees, and nothing a name can smuggle in."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

from dashboard.components.table import html_table, read_tables


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append(dict(attrs))


def parsed(markup: str) -> Tags:
    p = Tags()
    p.feed(markup)
    return p


def test_numbers_are_written_as_people_read_them():
    frame = pd.DataFrame({"区县": ["西湖区", "滨江区"], "人口": [2040, 1234567],
                          "占比": [26.47, 7.8], "床位": [37.0, float("nan")]})
    markup = html_table(frame)
    # thousands separators; one number of decimals per column (7.8 beside 26.47 is 7.80);
    # a dash, not None or nan, where there is no value
    for text in ("1,234,567", "2,040", "26.47", "7.80", "37", "—"):
        assert f">{text}<" in markup
    assert "None" not in markup and "nan" not in markup
    table = read_tables(markup)[0]
    assert list(table.columns) == ["区县", "人口", "占比", "床位"]
    assert table["人口"].tolist() == [2040, 1234567]
    assert table["占比"].tolist() == [26.47, 7.8]
    assert table["床位"].isna().tolist() == [False, True]


def test_missing_values_of_every_kind_are_a_dash():
    frame = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
                          "s": pd.array(["a", None], dtype="string"),
                          "t": pd.to_datetime(["2020-01-01", None])})
    markup = html_table(frame)
    assert markup.count(">—<") == 3
    assert "NaT" not in markup and "&lt;NA&gt;" not in markup and "nan" not in markup


def test_decimals_can_be_given():
    markup = html_table(pd.DataFrame({"x": [0.5, 12.0]}), decimals={"x": 1})
    assert ">0.5<" in markup and ">12.0<" in markup


def test_a_hostile_name_shows_as_written():
    names = ["<script>alert(1)</script>", "**bold** [x](http://e.example)", ":red[x] $y$",
             'say "hi" & <b>', "一\n\n<img src=x>"]
    markup = html_table(pd.DataFrame({"name": names, "n": range(len(names))}),
                        helps={"n": '"><script>x</script>'})
    tags = parsed(markup)
    # only the table's own elements: no script, image, link or emphasis
    assert set(tags.tags) <= {"div", "table", "thead", "tbody", "tr", "th", "td", "span"}
    # one block of HTML for Markdown: no blank line to end it early
    assert "\n" not in markup
    assert read_tables(markup)[0]["name"].tolist() == names[:4] + ["一\n\n<img src=x>"]
    # the explanation is the heading's title, as text
    assert [a["title"] for a in tags.attrs if "title" in a] == ['"><script>x</script>']


def test_colours_and_pinned_columns():
    frame = pd.DataFrame({"区县": ["甲", "乙"], "缺口": ["缺 10 张", "余 5 张"]})
    markup = html_table(frame, styles={"缺口": ["color: #b2182b", ""]}, pinned=1)
    cells = [a.get("style", "") for t, a in zip(parsed(markup).tags, parsed(markup).attrs,
                                                strict=True) if t in ("td", "th")]
    # heading 区县, heading 缺口, then row by row: the district cell is held in place
    assert "position:sticky;left:0.00em" in cells[2]
    assert "color: #b2182b" in cells[3] and "#b2182b" not in cells[5]
