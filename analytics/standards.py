"""Facility types and the planning standards they are judged against.

One table: for each facility type, who it serves, how its capacity is counted, the walking
radius of its living circle in the national residential planning standard, and the service
ratio used to turn residents into demand. Each figure carries its source; pages, the CLI and
the forecasts read them from here, and settings may override a radius (see
:func:`service_radius`), never the source.

Sources
-------
GB 50180-2018
    《城市居住区规划设计标准》(Standard for urban residential area planning and design),
    Ministry of Housing and Urban-Rural Development, in force 2018-12-01. Living circles:
    5-minute (walking distance about 300 m), 10-minute (about 500 m), 15-minute
    (800-1,000 m); Appendix B assigns each facility to a circle.
State Council 2021 (国发〔2021〕35号)
    《"十四五"国家老龄事业发展和养老服务体系规划》: elderly-care institutions' nursing-type
    beds and the community day-care network; we use 40 beds per 1,000 residents aged 60+, the
    long-standing national planning ratio (35-40 in the 12th and 13th five-year plans).
Outline of the 14th Five-Year Plan (2021)
    《国民经济和社会发展第十四个五年规划和2035年远景目标纲要》: 4.5 childcare (托位) places
    per 1,000 residents by 2025.
Ministry of Education et al. 2021 (教基〔2021〕8号)
    《"十四五"学前教育发展提升行动计划》: gross three-year pre-school enrolment above 90 %
    by 2025, i.e. 0.9 kindergarten places per child aged 3-5.
Compulsory Education Law (2006, art. 2 and 12)
    every child of compulsory-school age has a place near home: 1.0 primary place per child
    aged 6-11 and 1.0 junior-middle place per child aged 12-14.
General Office of the State Council 2022 (国办发〔2022〕11号)
    《"十四五"国民健康规划》: 7.4 medical-institution beds per 1,000 residents by 2025.
    Community health service centres: one per sub-district (街道), i.e. per about
    30,000-100,000 residents, in the National Health Commission's community health
    service guidance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.errors import lookup

GB50180 = ("GB 50180-2018 Standard for planning and design of urban residential areas "
           "(《城市居住区规划设计标准》), Appendix B")


@dataclass(frozen=True)
class FacilityType:
    key: str
    name_zh: str
    name_en: str
    capacity_unit: str            # beds | places | none
    serves: tuple[str, ...]       # population.SERVICE_GROUPS keys, or ("all",)
    circle_minutes: int           # GB 50180-2018 living circle
    radius_m: int                 # walking radius of that circle
    radius_source: str
    per_person: float | None      # capacity per person served (the standard's service ratio)
    ratio_label: str              # the ratio as people say it
    ratio_source: str
    department: str               # owner department (Chinese)
    radius_source_zh: str = ""
    ratio_label_zh: str = ""
    ratio_source_zh: str = ""

    def localized(self, lang: str) -> FacilityType:
        """The same type with its source and ratio texts in ``lang`` (``zh`` or ``en``)."""
        if lang != "zh":
            return self
        from dataclasses import replace

        return replace(self, radius_source=self.radius_source_zh or self.radius_source,
                       ratio_label=self.ratio_label_zh or self.ratio_label,
                       ratio_source=self.ratio_source_zh or self.ratio_source)

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


FACILITY_TYPES: dict[str, FacilityType] = {
    t.key: t
    for t in [
        FacilityType(
            "elderly_care_home", "养老机构", "Elderly care home", "beds", ("60+",), 15, 1000,
            GB50180 + ": elderly care homes and nursing homes (养老院 / 老年养护院) in the 15-minute circle (800-1,000 m)",
            0.040, "40 beds per 1,000 residents aged 60+",
            "State Council 2021 (国发〔2021〕35号), national planning ratio", "民政局",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：养老院、老年养护院属 15 分钟生活圈（800–1,000 米）",
            ratio_label_zh="每千名 60 岁及以上老年人 40 张床位",
            ratio_source_zh="国发〔2021〕35号《“十四五”国家老龄事业发展和养老服务体系规划》，全国规划比例"),
        FacilityType(
            "elderly_day_care", "老年人日间照料中心", "Elderly day-care centre", "places",
            ("60+",), 5, 300,
            GB50180 + ": elderly day-care centres (老年人日间照料中心, 托老所) in the 5-minute circle (300 m)",
            0.010, "10 day-care places per 1,000 residents aged 60+ (documented assumption)",
            "assumption: GB 50180-2018 sets one centre per 5-minute circle, not a place ratio",
            "民政局",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：老年人日间照料中心（托老所）属 5 分钟生活圈（300 米）",
            ratio_label_zh="每千名 60 岁及以上老年人 10 个日间照料位（假设）",
            ratio_source_zh="假设：GB 50180-2018 规定每个 5 分钟生活圈设一处，未规定床位比例"),
        FacilityType(
            "community_health_centre", "社区卫生服务中心", "Community health centre", "none",
            ("all",), 15, 1000,
            GB50180 + ": community health service centres (社区卫生服务中心) in the 15-minute circle (800-1,000 m)",
            None, "one centre per sub-district (30,000-100,000 residents)",
            "National Health Commission community health service guidance", "卫生健康委员会",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：社区卫生服务中心属 15 分钟生活圈（800–1,000 米）",
            ratio_label_zh="每个街道一处（服务 3 万–10 万人）",
            ratio_source_zh="国家卫生健康委社区卫生服务指导意见"),
        FacilityType(
            "hospital", "医院", "Hospital", "beds", ("all",), 15, 1000,
            GB50180 + ": hospitals are city-level; the 15-minute radius is used for reach",
            0.0074, "7.4 beds per 1,000 residents",
            "国办发〔2022〕11号 《\"十四五\"国民健康规划》, target for 2025", "卫生健康委员会",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：医院为城市级设施，按 15 分钟生活圈半径衡量可达性",
            ratio_label_zh="每千常住人口 7.4 张床位",
            ratio_source_zh="国办发〔2022〕11号《“十四五”国民健康规划》2025 年目标"),
        FacilityType(
            "nursery", "托育机构", "Nursery (ages 0-2)", "places", ("0-2",), 5, 300,
            GB50180 + ": nurseries (托儿所) in the 5-minute circle (300 m)",
            None, "4.5 places per 1,000 residents",
            "Outline of the 14th Five-Year Plan (2021), target for 2025", "卫生健康委员会",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：托儿所属 5 分钟生活圈（300 米）",
            ratio_label_zh="每千人口 4.5 个托位",
            ratio_source_zh="《国民经济和社会发展第十四个五年规划和2035年远景目标纲要》2025 年目标"),
        FacilityType(
            "kindergarten", "幼儿园", "Kindergarten", "places", ("3-5",), 5, 300,
            GB50180 + ": kindergartens (幼儿园) in the 5-minute circle (300 m)",
            0.90, "0.9 places per child aged 3-5 (gross enrolment above 90 %)",
            "Ministry of Education et al. 2021 (教基〔2021〕8号)", "教育局",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：幼儿园属 5 分钟生活圈（300 米）",
            ratio_label_zh="每名 3–5 岁儿童 0.9 个学位（毛入园率 90% 以上）",
            ratio_source_zh="教基〔2021〕8号《“十四五”学前教育发展提升行动计划》"),
        FacilityType(
            "primary_school", "小学", "Primary school", "places", ("6-11",), 10, 500,
            GB50180 + ": primary schools (小学) in the 10-minute circle (500 m)",
            1.0, "1 place per child aged 6-11",
            "Compulsory Education Law (2006), arts. 2 and 12", "教育局",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：小学属 10 分钟生活圈（500 米）",
            ratio_label_zh="每名 6–11 岁儿童 1 个学位",
            ratio_source_zh="《中华人民共和国义务教育法》（2006）第二条、第十二条"),
        FacilityType(
            "junior_middle_school", "初中", "Junior middle school", "places", ("12-14",), 15,
            1000, GB50180 + ": junior middle schools (初中) in the 15-minute circle (1,000 m)",
            1.0, "1 place per child aged 12-14",
            "Compulsory Education Law (2006), arts. 2 and 12", "教育局",
            radius_source_zh="GB 50180-2018《城市居住区规划设计标准》附录 B：初中属 15 分钟生活圈（1,000 米）",
            ratio_label_zh="每名 12–14 岁儿童 1 个学位",
            ratio_source_zh="《中华人民共和国义务教育法》（2006）第二条、第十二条"),
    ]
}

#: Nursery demand is stated per resident, not per child: 4.5 places per 1,000 residents.
NURSERY_PLACES_PER_RESIDENT = 0.0045


def facility_type(key: str) -> FacilityType:
    return lookup(FACILITY_TYPES, key, "facility type", "types", code="unknown_facility_type")


def service_radius(key: str, overrides: dict[str, int] | None = None) -> int:
    """The catchment radius in metres: a settings override if given, else the standard's."""
    if overrides and key in overrides:
        return int(overrides[key])
    return facility_type(key).radius_m


def balance(capacity: float, required: float) -> tuple[str, float]:
    """Capacity against requirement, as a word and an amount that is never negative.

    One sign convention for the product: the word carries the direction.

    Parameters
    ----------
    capacity : float
        What is there.
    required : float
        What the standard asks for (NaN where it sets no ratio).

    Returns
    -------
    status : str
        ``shortfall``, ``surplus``, ``meets`` or ``no_standard``.
    amount : float
        The shortfall or surplus (0.0 when it meets; NaN without a standard).

    Examples
    --------
    >>> balance(80, 100), balance(120, 100), balance(100, 100)
    (('shortfall', 20.0), ('surplus', 20.0), ('meets', 0.0))
    """
    if required is None or math.isnan(float(required)):
        return "no_standard", float("nan")
    diff = round(float(capacity) - float(required), 6)
    if diff < 0:
        return "shortfall", -diff
    if diff > 0:
        return "surplus", diff
    return "meets", 0.0

