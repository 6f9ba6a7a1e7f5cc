"""Names for places (issue 15): each site and cell is said in words, worked out by hand."""

from __future__ import annotations

import pytest
from planning_store import DAY_CARE, SCHOOLS, XY, YEAR, facility, lonlat, make_store

from analytics.planning import places, siting


@pytest.fixture(scope="module")
def store():
    k1 = facility("K1", "kindergarten", "G", 60)
    k1["name"] = "西湖区明潮街道第二幼儿园"
    n1 = facility("N1", "nursery", "C", 20)
    n1["name"] = "滨江区宁信镇富石村托育园"
    return make_store(SCHOOLS + DAY_CARE + [k1, n1])


def test_a_point_is_named_by_district_and_nearest_facility(store):
    """A point 100 m north of G (-400, -400): the kindergarten at G is 100 m away, the
    school at D 300 m; G lies in 西湖区 (x <= 200)."""
    lon, lat = lonlat(XY["G"][0], XY["G"][1] + 100)
    row = places.locate(store, [lon], [lat]).iloc[0]
    assert (row["district"], row["district_en"]) == ("西湖区", "Xihu District")
    assert (row["subdistrict"], row["community"]) == ("明潮街道", "")
    assert row["place_en"] == "Mingchao Subdistrict"
    assert row["landmark"] == "西湖区明潮街道第二幼儿园"
    # its English form: 西湖 xī hú, 明潮 míng cháo, 第二 the second
    assert row["landmark_en"] == "Xihu District Mingchao Subdistrict No. 2 Kindergarten"
    assert (row["landmark_type_zh"], row["landmark_type_en"]) == ("幼儿园", "Kindergarten")
    assert row["distance_m"] == pytest.approx(100, abs=1)


def test_village_and_town(store):
    lon, lat = lonlat(*XY["C"])
    row = places.locate(store, [lon], [lat]).iloc[0]
    assert (row["district"], row["subdistrict"], row["community"]) == ("滨江区", "宁信镇",
                                                                       "富石村")
    assert row["place_en"] == "Fushi Village, Ningxin Town"
    assert row["distance_m"] == 0


def test_the_sub_district_belongs_to_the_district_named_beside_it():
    """A point at (260, 0) lies nearest cell F (140 m; E is 260 m), so in 滨江区 (330108).
    The nearest facility is a kindergarten at (150, 0), 110 m away, across the line in 西湖区
    and named for 明潮街道: it stays the landmark, but the sub-district must come from 滨江区's
    own named facility, the nursery at C ((400, 400), 424 m): 宁信镇 富石村."""
    k = facility("K9", "kindergarten", None, 60, xy=(150.0, 0.0))
    k["name"] = "西湖区明潮街道第三幼儿园"
    n1 = facility("N1", "nursery", "C", 20)
    n1["name"] = "滨江区宁信镇富石村托育园"
    own = make_store(SCHOOLS + [k, n1])
    row = places.locate(own, *map(lambda v: [v], lonlat(260.0, 0.0)), year=YEAR).iloc[0]
    assert row["district"] == "滨江区"
    assert (row["subdistrict"], row["community"]) == ("宁信镇", "富石村")
    assert row["landmark"] == "西湖区明潮街道第三幼儿园"
    assert row["distance_m"] == pytest.approx(110, abs=1)


def test_every_proposed_site_has_a_location(store):
    """One day-care centre for the 60+: the cells left uncovered are B, C, D, F, G, H, I; the
    site that covers most (300 m reaches only its own cell) is I (54 residents). DC3 stood
    there but closed in 2018, so it names nothing in 2020: the nearest open facility is the
    school at F, 400 m north."""
    result = siting.recommend_sites(store, "elderly_day_care", YEAR, 1)
    site = result.sites.iloc[0]
    assert site["district"] == "滨江区"
    assert site["landmark"] == "P2 名称" and site["landmark_m"] == pytest.approx(400, abs=1)
    props = result.geojson()["features"][0]["properties"]
    assert props["district"] == "滨江区" and props["nearest_facility"] == "P2 名称"
    assert site["landmark_en"] == props["nearest_facility_en"] == "P2 Mingcheng"
