"""The dataset registry: every dataset the city publishes, and its catalog row.

Datasets are described here, declaratively (department, domain, access level, columns
with units); row counts and column types are read from the actual tables, never written
by hand. A table in the store that nobody described is catalogued as *confidential,
unclassified* (closed until a data steward classifies it: fail closed) and reported by
:func:`undescribed_tables`, which a test asserts is empty.

The negative list (负面清单) also names department data that is deliberately *not* in the
store (personal records, safety-critical data): those entries carry no table, only their
reason, so the public can see what exists and why it is closed.

The access levels follow the three classes of Chinese public-data opening rules
(无条件开放 / 有条件开放 / 不予开放), e.g. 《浙江省公共数据条例》 (2022) arts. 30-33.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from analytics import store as _store_module
from analytics.pooling.contracts import contracts, publisher_name
from analytics.pooling.feeds import LAYERS
from analytics.store import Store

ACCESS_LEVELS = ("public", "on_application", "confidential")
FREQUENCIES = ("daily", "monthly", "quarterly", "annual", "irregular")

#: Tables that run the product (accounts, logs, keys), not data of a department.
SYSTEM_TABLES = frozenset({
    "meta", "datasets", "ingest_log", "download_log", "users", "sessions", "login_attempts",
    "applications", "access_decisions", "privacy_keys", "api_tokens",
    "ingest_current", "ingest_quality",        # ingest lineage and completeness
    "ingest_findings",                         # consistency findings of each load
    "sensor_rejects", "sensor_faults",         # telemetry refused at the door; simulator truth
    "kpi_values",                              # the headline indicators, derived and kept
    "network_levels",                          # the network watch's series, derived and kept
}) | frozenset(  # a layer is its dataset; its synthetic default and department part are its parts
    f"{part}_{name}" for name in LAYERS for part in ("synthetic", "dept_layer"))

#: Departments (the DCAT publisher). ``{city}`` is replaced by the city's name.
DEPARTMENTS: dict[str, tuple[str, str]] = {
    "public_security": ("{city}公安局", "Public Security Bureau"),
    "civil_affairs": ("{city}民政局", "Civil Affairs Bureau"),
    "education": ("{city}教育局", "Education Bureau"),
    "health": ("{city}卫生健康委员会", "Health Commission"),
    "statistics": ("{city}统计局", "Statistics Bureau"),
    "planning": ("{city}规划和自然资源局", "Planning and Natural Resources Bureau"),
    "housing": ("{city}住房保障和房产管理局", "Housing Security and Real Estate Bureau"),
    "environment": ("{city}生态环境局", "Ecology and Environment Bureau"),
    "transport": ("{city}交通运输局", "Transport Bureau"),
    "urban_management": ("{city}城市管理局", "Urban Management Bureau"),
    "human_resources": ("{city}人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    "market": ("{city}市场监督管理局", "Market Supervision Administration"),
    "data_resources": ("{city}数据资源管理局", "Data Resources Bureau"),
    "healthcare_security": ("{city}医疗保障局", "Healthcare Security Bureau"),
    "emergency": ("{city}应急管理局", "Emergency Management Bureau"),
    "water": ("{city}林业水利局", "Forestry and Water Bureau"),
}


def department_en(name: str) -> str | None:
    """A department's English name (:data:`DEPARTMENTS`) from its code or its Chinese name,
    with or without the city in front (``教育局``, ``杭州市教育局``, ``education``); None when
    it is no department's.

    >>> department_en("杭州市教育局"), department_en("民政局"), department_en("education")
    ('Education Bureau', 'Civil Affairs Bureau', 'Education Bureau')
    """
    name = str(name).strip()
    if name in DEPARTMENTS:
        return DEPARTMENTS[name][1]
    for zh, en in DEPARTMENTS.values():
        bare = zh.replace("{city}", "")
        if name == bare or (name.endswith(bare) and len(name) - len(bare) <= 8
                            and name[:len(name) - len(bare)].endswith("市")):
            return en
        if name == en:
            return en
    return None

#: Open-data domains (主题) with the EU data-theme code DCAT-AP uses for them.
DOMAINS: dict[str, tuple[str, str, str]] = {
    "population": ("人口与社会", "Population and society", "SOCI"),
    "geography": ("地理空间", "Geography and boundaries", "REGI"),
    "social_security": ("社会保障与养老", "Social security and elderly care", "SOCI"),
    "health": ("卫生健康", "Health", "HEAL"),
    "education": ("教育", "Education", "EDUC"),
    "urban": ("城市管理与设施", "Urban management and infrastructure", "REGI"),
    "environment": ("资源环境", "Environment", "ENVI"),
    "transport": ("交通出行", "Transport", "TRAN"),
    "public_safety": ("公共安全", "Public safety", "JUST"),
    "economy": ("经济与市场", "Economy and markets", "ECON"),
    "housing": ("城乡建设与住房", "Housing", "REGI"),
    "social_welfare": ("社会福利", "Social welfare", "SOCI"),
}

LICENCES = {
    "public": "CC BY 4.0",
    "on_application": "数据使用协议（申请获批后）/ data-use agreement on approval",
    "confidential": "不开放 / not open",
}

#: What every column of the same name means (unit, Chinese, English), unless a dataset says otherwise.
COLUMN_DOCS: dict[str, tuple[str, str, str]] = {
    "city_adcode": ("", "城市行政区划代码（GB/T 2260）", "City administrative division code (GB/T 2260)"),
    "district_adcode": ("", "区县行政区划代码", "District administrative division code"),
    "adcode": ("", "区县行政区划代码", "District administrative division code"),
    "year": ("year", "年份（年末常住人口口径）", "Year (resident population at year end)"),
    "cell": ("", "H3 第 9 级网格编号（整数）", "H3 resolution-9 cell index (integer)"),
    "h3": ("", "H3 第 9 级网格编号（十六进制）", "H3 resolution-9 cell index (hex string)"),
    "name": ("", "名称", "Name"),
    "name_en": ("", "英文名称", "English name"),
    "kind": ("", "类型：区、县或县级市", "Kind: district, county or county-level city"),
    "area_km2": ("km²", "面积", "Area"),
    "core_lon": ("degree", "人口集中中心经度（WGS-84）", "Longitude of the population core (WGS-84)"),
    "core_lat": ("degree", "人口集中中心纬度（WGS-84）", "Latitude of the population core (WGS-84)"),
    "centroid_lon": ("degree", "几何中心经度（WGS-84）", "Centroid longitude (WGS-84)"),
    "centroid_lat": ("degree", "几何中心纬度（WGS-84）", "Centroid latitude (WGS-84)"),
    "geometry": ("", "边界（WKB，WGS-84）", "Boundary (WKB, WGS-84)"),
    "lon": ("degree", "经度（WGS-84）", "Longitude (WGS-84)"),
    "lat": ("degree", "纬度（WGS-84）", "Latitude (WGS-84)"),
    "urbanity": ("0-1", "城市化指数：0 乡村 … 1 城市核心", "Urbanity index: 0 rural … 1 urban core"),
    "age_group": ("", "服务年龄组", "Service age group"),
    "age": ("year of age", "周岁（100 表示 100 岁及以上）", "Age in completed years (100 = 100 and over)"),
    "sex": ("", "性别：M 男，F 女", "Sex: M male, F female"),
    "persons": ("persons", "人数", "Number of persons"),
    "births": ("persons", "出生人数", "Births"),
    "deaths": ("persons", "死亡人数", "Deaths"),
    "net_migration": ("persons", "净迁移人数（迁入减迁出）", "Net migration (in minus out)"),
    "facility_id": ("", "设施编号", "Facility identifier"),
    "type": ("", "设施类型", "Facility type"),
    "capacity": ("beds/places", "容量（床位或学位）", "Capacity (beds or places)"),
    "capacity_unit": ("", "容量单位", "Capacity unit"),
    "opened_year": ("year", "开办年份", "Year opened"),
    "closed_year": ("year", "关闭年份（空值表示仍在运营）", "Year closed (empty while open)"),
    "occupancy_rate": ("share", "最近一年的使用率", "Share of capacity in use in the latest year"),
    "owner_department": ("", "主管部门", "Owner department"),
    "record_id": ("", "记录编号", "Record identifier"),
    "id_number": ("", "公民身份号码（18 位）", "PRC resident ID number (18 characters)"),
    "phone": ("", "联系电话", "Phone number"),
    "birth_date": ("date", "出生日期", "Date of birth"),
    "address": ("", "居住地址", "Home address"),
    "subsidy_type": ("", "补贴类别", "Subsidy type"),
    "monthly_yuan": ("CNY / month", "每月补贴金额", "Monthly subsidy"),
    "since_year": ("year", "开始享受补贴的年份", "Year the subsidy started"),
    "registry_year": ("year", "登记年份", "Registry year"),
    "age_band": ("years", "五岁年龄段", "Five-year age band"),
    "recipients": ("persons", "补贴对象人数（1-9 已抑制）", "Recipients (1-9 suppressed)"),
    "asset_id": ("", "设施编号", "Asset identifier"),
    "asset_type": ("", "管网类型：污水、雨水、供水、电力、通信、燃气", "Network: sewer, storm, water, power, telecom, gas"),
    "install_year": ("year", "安装年份", "Year installed"),
    "depth_cm": ("cm", "井盖到井底的深度", "Depth from cover to chamber floor"),
    "ts": ("UTC", "测量时间", "Time of measurement"),
    "arrived_at": ("UTC", "平台接收时间", "Time received by the platform"),
    "tilt_deg": ("degree", "倾斜角", "Tilt"),
    "displacement_mm": ("mm", "位移", "Displacement"),
    "water_level_cm": ("cm", "井内水位（距井底）", "Water level above the chamber floor"),
    "battery_v": ("V", "电池电压", "Battery voltage"),
    "signal_dbm": ("dBm", "信号强度", "Signal strength"),
    "late": ("", "迟到数据（晚于同一设施的更新读数到达）", "Arrived after a newer reading of the same asset"),
}


@dataclass(frozen=True)
class DatasetSpec:
    """One catalogued dataset: a table (or a filtered part or an aggregate of one)."""

    dataset_id: str
    department: str
    theme: str
    title: str
    title_en: str
    description: str
    description_en: str
    keywords: str
    access: str
    frequency: str
    table: str | None                       # None: held by the department, not in the store
    type_filter: tuple[str, ...] = ()       # facilities: which types belong to this dataset
    aggregate: str | None = None            # name of an analytics.opendata.privacy aggregate of `table`
    negative_reason: str | None = None
    spatial_kind: str | None = None         # polygon | point | h3 | None
    count_columns: tuple[str, ...] = ()     # counts that small-cell suppression applies to
    margins: tuple[tuple[str, ...], ...] = ()  # groupings whose totals are published elsewhere
    record_level: bool = False
    quasi_identifiers: tuple[str, ...] = ()
    rounding: int = 0                       # >0: counts rounded to this base, 1-9 blank
    masked: tuple[tuple[str, str], ...] = ()   # (column, kind) kind in prc_id | phone | name
    dropped: tuple[str, ...] = ()           # columns never served in this dataset
    synthetic: bool = True
    columns: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks = [(self.access in ACCESS_LEVELS, f"access {self.access!r} not in {ACCESS_LEVELS}"),
                  (self.frequency in FREQUENCIES, f"frequency {self.frequency!r} not in {FREQUENCIES}"),
                  (self.department in DEPARTMENTS, f"unknown department {self.department!r}"),
                  (self.theme in DOMAINS, f"unknown domain {self.theme!r}"),
                  ((self.negative_reason is not None) == (self.access == "confidential"),
                   "a negative-list reason is given exactly when the dataset is confidential")]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"dataset {self.dataset_id}: {message}")


_PERSONAL = ("个人信息：姓名、公民身份号码、联系电话、住址等敏感个人信息（《个人信息保护法》第28条），"
             "只以通过统计披露控制的汇总数据开放")

_PERSON_COLUMNS = {"name": ("", "姓名", "Full name"),
                   "age": ("years", "在登记年份的周岁", "Age in completed years in the registry year")}


def _held_by_department(dataset_id: str, department: str, theme: str, title: str,
                        title_en: str, description: str, description_en: str, keywords: str,
                        frequency: str, reason: str) -> DatasetSpec:
    """A dataset on the negative list that its department holds: catalogued (its existence
    and the reason are public) but confidential and not in this store."""
    return DatasetSpec(dataset_id, department, theme, title, title_en, description,
                       description_en, keywords, "confidential", frequency, None,
                       synthetic=False, negative_reason=reason)


DATASETS: list[DatasetSpec] = [
    DatasetSpec(
        "districts", "planning", "geography", "区县行政区划边界", "District boundaries",
        "本市各区县的行政区划边界（WGS-84）、面积与人口集中中心。边界来自高德行政区划数据（GCJ-02 已转换为 WGS-84）。",
        "The city's district boundaries (WGS-84), areas and population cores. Boundaries from AMap "
        "administrative data, converted from GCJ-02 to WGS-84.",
        "行政区划,边界,区县,boundaries", "public", "annual", "districts",
        spatial_kind="polygon", synthetic=False),
    DatasetSpec(
        "cells", "data_resources", "geography", "人口网格（H3 第 9 级）", "Population grid (H3 resolution 9)",
        "有常住人口的 H3 第 9 级网格（约 0.1 平方公里）及其所属区县、中心点和城市化指数。",
        "H3 resolution-9 cells (about 0.1 km²) where people live, with district, centre and urbanity.",
        "网格,H3,空间,grid", "public", "annual", "cells", spatial_kind="h3"),
    DatasetSpec(
        "population_districts", "statistics", "population", "分区县分年龄性别常住人口",
        "Resident population by district, single year of age and sex",
        "2010 年以来各区县分单岁年龄与性别的常住人口。2020 年区县总量与第七次全国人口普查一致，其余年份由队列要素法推算。1-9 的小数已抑制。",
        "Residents by district, single year of age and sex since 2010. 2020 district totals equal the "
        "7th census; other years come from a cohort-component projection. Counts of 1-9 are suppressed.",
        "人口,年龄,性别,普查,population", "public", "annual", "population_districts",
        count_columns=("persons",),
        margins=(("year", "district_adcode"), ("year", "age", "sex"),
                 ("year", "district_adcode", "age_group", "sex"))),
    DatasetSpec(
        "population_cells", "statistics", "population", "分网格分年龄组常住人口（合成数据）",
        "Resident population by grid cell, age group and sex (synthetic)",
        "按 H3 网格、服务年龄组和性别的常住人口。区县以下为校准后的合成数据。1-9 的小数已抑制，其余取整到 10，"
        "区县以下不公布任何精确人数，与分区县表差分也无法还原。",
        "Residents by H3 cell, service age group and sex. Calibrated synthetic data below district "
        "level. Counts of 1-9 are suppressed and the others rounded to the nearest 10: no exact "
        "count below district level is published, so differencing against the district tables "
        "recovers nothing.",
        "人口,网格,老年人,儿童,population,grid", "public", "annual", "population_cells",
        spatial_kind="h3", count_columns=("persons",), rounding=10,
        margins=(("year", "district_adcode", "age_group", "sex"), ("year", "cell"))),
    DatasetSpec(
        "vital_events", "health", "population", "分区县出生、死亡与迁移", "Births, deaths and migration by district",
        "各区县每年的出生、死亡与净迁移人数，与人口推算同源。",
        "Births, deaths and net migration per district and year, from the same cohort-component process.",
        "出生,死亡,迁移,births,deaths", "public", "annual", "vital_events"),
    DatasetSpec(
        "facilities_elderly", "civil_affairs", "social_security", "养老机构与日间照料中心",
        "Elderly care homes and day-care centres",
        "养老机构（床位）与老年人日间照料中心（托位）的位置、容量、开办与关闭年份。合成数据。",
        "Elderly care homes (beds) and day-care centres (places): location, capacity, years opened "
        "and closed. Synthetic.",
        "养老,床位,日间照料,elderly care", "public", "quarterly", "facilities",
        type_filter=("elderly_care_home", "elderly_day_care"), spatial_kind="point"),
    DatasetSpec(
        "facilities_health", "health", "health", "医院与社区卫生服务中心", "Hospitals and community health centres",
        "医院（床位）与社区卫生服务中心的位置与容量。合成数据。",
        "Hospitals (beds) and community health centres: location and capacity. Synthetic.",
        "医院,社区卫生,床位,hospitals", "public", "quarterly", "facilities",
        type_filter=("hospital", "community_health_centre"), spatial_kind="point"),
    DatasetSpec(
        "facilities_nurseries", "health", "health", "托育机构", "Nurseries (ages 0-2)",
        "3 岁以下婴幼儿托育机构的位置与托位数。合成数据。",
        "Nurseries for children under 3: location and places. Synthetic.",
        "托育,托位,婴幼儿,nursery", "public", "quarterly", "facilities",
        type_filter=("nursery",), spatial_kind="point"),
    DatasetSpec(
        "facilities_schools", "education", "education", "幼儿园与中小学", "Kindergartens and schools",
        "幼儿园、小学与初中的位置与学位数。合成数据。",
        "Kindergartens, primary and junior middle schools: location and places. Synthetic.",
        "学校,幼儿园,学位,schools", "public", "annual", "facilities",
        type_filter=("kindergarten", "primary_school", "junior_middle_school"), spatial_kind="point"),
    DatasetSpec(
        "care_subsidy_registry", "civil_affairs", "social_security", "养老服务补贴对象登记（明细）",
        "Register of elderly care-subsidy recipients (records)",
        "享受养老服务补贴的老年人明细：姓名、身份证号、电话、住址、年龄。合成数据。列入负面清单，不予开放。",
        "Elderly residents receiving care subsidies, one record each: name, ID number, phone, "
        "address, age. Synthetic. On the negative list: never opened.",
        "养老补贴,老年人,明细,care subsidy", "confidential", "monthly", "care_subsidy_registry",
        negative_reason=_PERSONAL, columns=_PERSON_COLUMNS),
    DatasetSpec(
        "care_subsidy_extract", "civil_affairs", "social_security", "养老服务补贴对象脱敏抽取（申请开放）",
        "Care-subsidy recipients, desensitised extract (on application)",
        "补贴对象的脱敏记录：姓名、身份证号、电话以带密钥的 HMAC 替换（保留格式，不可还原），年龄为五岁段，"
        "不含住址；导出前检查 k-匿名（k≥5）。经数据管理员审批后开放给申请人。合成数据。",
        "Recipients' records, desensitised: name, ID number and phone replaced by keyed HMAC "
        "pseudonyms (same format, irreversible), age in five-year bands, no address; k-anonymity "
        "(k≥5) checked before export. Opened to an applicant after a data steward approves. Synthetic.",
        "养老补贴,脱敏,研究,care subsidy,research", "on_application", "monthly",
        "care_subsidy_registry", record_level=True,
        quasi_identifiers=("sex", "age_band", "district_adcode"),
        masked=(("name", "name"), ("id_number", "prc_id"), ("phone", "phone")),
        dropped=("record_id", "address", "cell", "birth_date", "age", "age_group"),
        columns=_PERSON_COLUMNS),
    DatasetSpec(
        "care_subsidy_by_district", "civil_affairs", "social_security", "分区县养老服务补贴对象人数",
        "Care-subsidy recipients by district, age group and sex",
        "由补贴对象登记汇总的分区县、年龄组、性别、补贴类别人数。1-9 的小数已抑制并做了二次抑制。合成数据。",
        "Recipients counted by district, age group, sex and subsidy type, aggregated from the "
        "register. Counts of 1-9 suppressed, with secondary suppression. Synthetic.",
        "养老补贴,汇总,care subsidy", "public", "monthly", "care_subsidy_registry",
        aggregate="care_subsidy_by_district", count_columns=("recipients",),
        margins=(("registry_year", "district_adcode"),
                 ("registry_year", "age_group", "sex", "subsidy_type"))),
    DatasetSpec(
        "assets", "urban_management", "urban", "市政设施资产（窨井盖等）", "Municipal assets (manhole covers etc.)",
        "城市管理部门的市政设施资产台账。合成数据。",
        "The urban-management register of municipal assets. Synthetic.",
        "市政设施,窨井盖,assets", "public", "monthly", "assets", spatial_kind="point"),
    DatasetSpec(
        "sensor_readings", "urban_management", "urban", "市政设施传感器读数", "Municipal asset sensor readings",
        "物联网传感器对市政设施（窨井盖）的监测读数，由设备网关经消息代理（MQTT）或接口上报；"
        "无设备上报时为模拟数据（应用启动时生成的近一周历史、模拟数据流）。",
        "IoT sensor readings of municipal assets (manhole covers), reported by device gateways "
        "through the message broker (MQTT) or the API; simulated where no device reports (the "
        "week generated at app start, the simulated feed).",
        "物联网,传感器,IoT,sensors", "public", "daily", "sensor_readings"),
    DatasetSpec(
        "sensor_alerts", "urban_management", "urban", "市政设施实时告警与处置记录",
        "Municipal asset alerts and their handling",
        "窨井盖等设施的实时告警（位移、倾斜、满溢、整区管网水位异常等）及确认、处置记录；"
        "告警随读数产生，读数无设备上报时为模拟数据。列入负面清单。",
        "Live alerts on municipal assets (lifted, tilted, overflow, a whole network's level …) "
        "with acknowledgement and resolution, raised on the readings (simulated where no "
        "device reports). On the negative list.",
        "告警,窨井盖,城市生命线,alerts", "confidential", "daily", "alerts",
        negative_reason="城市生命线设施的实时告警与处置，涉及公共安全（《数据安全法》第21条重要数据）"),
    # -- the negative list: held by departments, deliberately not in this store ------------
    _held_by_department(
        "household_register_persons", "public_security", "public_safety", "户籍人口个人信息",
        "Household-register personal records",
        "户籍人口的个人身份信息。由公安部门保管，不在本库。",
        "Personal identity records of registered residents. Held by public security; not in this store.",
        "户籍,身份证", "daily",
        "个人信息与公共安全：《个人信息保护法》《居民身份证法》第19条"),
    _held_by_department(
        "medical_insurance_claims", "healthcare_security", "health", "参保人员医保结算明细",
        "Medical-insurance claim records", "参保人员每次就医的结算明细。不在本库。",
        "Per-visit claim records of insured persons. Not in this store.",
        "医保,结算", "daily",
        "敏感个人信息（医疗健康）：《个人信息保护法》第28条"),
    _held_by_department(
        "social_insurance_contributions", "human_resources", "social_security", "社会保险个人缴费明细",
        "Individual social-insurance contributions", "个人社会保险缴费与工资基数明细。不在本库。",
        "Individual contributions and wage bases. Not in this store.",
        "社保,缴费", "monthly",
        "个人信息与财产信息：《个人信息保护法》第28条"),
    _held_by_department(
        "major_hazard_sources", "emergency", "public_safety", "危险化学品重大危险源监测数据",
        "Major chemical hazard installations: monitoring data",
        "重大危险源企业的位置、储量与实时监测。不在本库。",
        "Locations, inventories and live monitoring of major hazard installations. Not in this store.",
        "危险化学品,重大危险源", "daily",
        "公共安全：《安全生产法》《数据安全法》第21条重要数据"),
    _held_by_department(
        "reservoir_dam_monitoring", "water", "environment", "水库大坝安全监测原始数据",
        "Reservoir dam safety monitoring (raw)", "水库大坝渗流与变形的原始监测数据。不在本库。",
        "Raw seepage and deformation monitoring of reservoir dams. Not in this store.",
        "水库,大坝,监测", "daily",
        "关键基础设施安全：《关键信息基础设施安全保护条例》"),
    _held_by_department(
        "affordable_housing_applicants", "housing", "housing", "保障性住房申请家庭信息",
        "Affordable-housing applicant households", "申请保障性住房家庭的成员、收入与财产信息。不在本库。",
        "Members, incomes and assets of applicant households. Not in this store.",
        "保障房,住房", "monthly",
        "个人信息与财产信息：《个人信息保护法》第28条"),
    _held_by_department(
        "transit_card_trips", "transport", "transport", "公交卡刷卡明细", "Transit-card trip records",
        "每张公交卡的刷卡时间与站点。不在本库。",
        "Tap-in and tap-out records per transit card. Not in this store.",
        "公交,刷卡,出行", "daily",
        "个人行踪轨迹：《个人信息保护法》第28条"),
    _held_by_department(
        "enterprise_emission_trade_secrets", "environment", "environment", "企业环境信用评价原始材料",
        "Enterprise environmental-credit files (raw)", "企业提交的工艺与排放原始材料。不在本库。",
        "Process and emission files submitted by enterprises. Not in this store.",
        "环境信用,企业", "annual",
        "商业秘密：《反不正当竞争法》第9条"),
    _held_by_department(
        "market_registrant_identities", "market", "economy", "市场主体登记自然人身份信息",
        "Identity documents of business registrants", "登记企业法定代表人与股东的身份证件信息。不在本库。",
        "Identity documents of legal representatives and shareholders. Not in this store.",
        "市场主体,登记", "daily",
        "个人信息：《个人信息保护法》第28条"),
]

SPECS: dict[str, DatasetSpec] = {s.dataset_id: s for s in DATASETS}

#: The negative list's reasons in English (the catalog stores the Chinese text).
NEGATIVE_REASONS_EN: dict[str, str] = {
    _PERSONAL: "Personal information: names, citizen ID numbers, phone numbers, addresses and "
               "other sensitive personal information (Personal Information Protection Law, "
               "art. 28); opened only as aggregates that pass statistical disclosure control",
    "城市生命线设施的实时告警与处置，涉及公共安全（《数据安全法》第21条重要数据）":
        "Real-time alerts and responses of the city's lifeline networks concern public "
        "safety (important data, Data Security Law art. 21)",
    "个人信息与公共安全：《个人信息保护法》《居民身份证法》第19条":
        "Personal information and public safety: Personal Information Protection Law; "
        "Resident Identity Card Law art. 19",
    "敏感个人信息（医疗健康）：《个人信息保护法》第28条":
        "Sensitive personal information (medical and health): Personal Information "
        "Protection Law art. 28",
    "个人信息与财产信息：《个人信息保护法》第28条":
        "Personal and financial information: Personal Information Protection Law art. 28",
    "公共安全：《安全生产法》《数据安全法》第21条重要数据":
        "Public safety: Work Safety Law; important data, Data Security Law art. 21",
    "关键基础设施安全：《关键信息基础设施安全保护条例》":
        "Security of critical infrastructure: Regulations on the Security Protection of "
        "Critical Information Infrastructure",
    "个人行踪轨迹：《个人信息保护法》第28条":
        "Personal movement records: Personal Information Protection Law art. 28",
    "商业秘密：《反不正当竞争法》第9条":
        "Trade secrets: Anti-Unfair Competition Law art. 9",
    "个人信息：《个人信息保护法》第28条":
        "Personal information: Personal Information Protection Law art. 28",
}


def negative_reason_en(reason: str | None) -> str:
    """A negative-list reason in English: from :data:`NEGATIVE_REASONS_EN`, or the English
    part a reason carries in parentheses (``未分类：… (unclassified: …)``); else empty."""
    if not isinstance(reason, str) or not reason:
        return ""
    if reason in NEGATIVE_REASONS_EN:
        return NEGATIVE_REASONS_EN[reason]
    if reason.endswith(")") and " (" in reason:
        english = reason[reason.rindex(" (") + 2:-1]
        return english[:1].upper() + english[1:]
    return reason if reason.isascii() else ""


def description_en(dataset_id: str) -> str:
    """A dataset's English description: the registry's, else its contract's."""
    if dataset_id in SPECS:
        return SPECS[dataset_id].description_en
    c = contracts().get(dataset_id)
    return c.description_en if c is not None and c.description_en else ""


def spec(dataset_id: str) -> DatasetSpec | None:
    """The registry's spec of a dataset.

    Parameters
    ----------
    dataset_id : str
        The dataset.

    Returns
    -------
    DatasetSpec or None
        None for a dataset the registry does not define (a department's pooled one).

    Examples
    --------
    >>> spec("sensor_alerts").access
    'confidential'
    """
    return SPECS.get(dataset_id)


def column_doc(spec_: DatasetSpec | None, column: str) -> tuple[str, str, str]:
    if spec_ is not None and column in spec_.columns:
        return spec_.columns[column]
    return COLUMN_DOCS.get(column, ("", "", ""))


def served_columns(spec_: DatasetSpec, table_columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (column, type) pairs a dataset serves: the table's, minus dropped, plus derived."""
    if spec_.aggregate == "care_subsidy_by_district":
        return [("registry_year", "SMALLINT"), ("district_adcode", "INTEGER"), ("age_group", "VARCHAR"),
                ("sex", "VARCHAR"), ("subsidy_type", "VARCHAR"), ("recipients", "BIGINT")]
    cols = [(c, t) for c, t in table_columns if c not in spec_.dropped]
    if spec_.record_level and "age_band" not in dict(cols):
        cols.append(("age_band", "VARCHAR"))
    return cols


def catalog_rows(
    table_columns: dict[str, list[tuple[str, str]]],
    count: Callable[[DatasetSpec], int],
    years: Callable[[DatasetSpec], tuple[int | None, int | None]],
    city_adcode: int,
    city_name: str,
    modified: date,
    contract_count: Callable[[str], int] = lambda table: 0,
) -> pd.DataFrame:
    """The ``datasets`` rows for the tables present (described or not) and the negative list."""
    rows = []
    described = set()
    for s in DATASETS:
        if s.table is not None and s.table not in table_columns:
            continue  # this store has no such table (e.g. sensors not built)
        if s.table is not None:
            described.add(s.table)
            cols = served_columns(s, table_columns[s.table])
            n = count(s)
            start, end = years(s)
        else:
            cols, n, start, end = [], 0, None, None
        pub, pub_en = DEPARTMENTS[s.department]
        rows.append({
            "city_adcode": city_adcode, "dataset_id": s.dataset_id, "title": s.title,
            "title_en": s.title_en, "description": s.description,
            "publisher": pub.format(city=city_name), "publisher_en": pub_en, "theme": s.theme,
            "keywords": s.keywords, "temporal_start": start, "temporal_end": end,
            "spatial": f"{city_name} ({city_adcode})", "update_frequency": s.frequency,
            "access_level": s.access, "licence": LICENCES[s.access], "modified": modified,
            "negative_list": s.access == "confidential", "negative_reason": s.negative_reason,
            "source_table": s.table, "row_count": int(n), "synthetic": s.synthetic,
            "columns_json": _columns_json(s, cols),
        })
    rows += contract_rows(table_columns, contract_count, city_adcode, city_name, modified)
    for table in sorted(set(table_columns) - described - SYSTEM_TABLES - set(contract_tables())):
        rows.append({
            "city_adcode": city_adcode, "dataset_id": table, "title": f"未分类数据表 {table}",
            "title_en": f"Unclassified table {table}",
            "description": "尚未由数据管理员分类的数据表，分类前不予开放。",
            "publisher": DEPARTMENTS["data_resources"][0].format(city=city_name),
            "publisher_en": DEPARTMENTS["data_resources"][1], "theme": "urban",
            "keywords": "未分类", "temporal_start": None, "temporal_end": None,
            "spatial": f"{city_name} ({city_adcode})", "update_frequency": "irregular",
            "access_level": "confidential", "licence": LICENCES["confidential"],
            "modified": modified, "negative_list": True,
            "negative_reason": "未分类：分类前不予开放 (unclassified: closed until a data steward classifies it)",
            "source_table": table, "row_count": 0, "synthetic": True,
            "columns_json": _columns_json(None, table_columns[table]),
        })
    frame = pd.DataFrame(rows)
    frame["temporal_start"] = frame["temporal_start"].astype("Int16")
    frame["temporal_end"] = frame["temporal_end"].astype("Int16")
    return frame


def _columns_json(s: DatasetSpec | None, cols: list[tuple[str, str]]) -> str:
    out = []
    for name, typ in cols:
        unit, zh, en = column_doc(s, name)
        if s is not None and any(name == c for c, _ in s.masked):
            zh, en = zh + "（已脱敏）", en + " (masked)"
        out.append({"name": name, "type": typ, "unit": unit, "description": zh,
                    "description_en": en})
    return json.dumps(out, ensure_ascii=False)


def contract_tables() -> dict[str, object]:
    """Department tables described by ingest's dataset contracts: ``{table: contract}``.

    Each contract's view and its ``_versions`` table are its department's dataset; the
    contract (in ``data/contracts/``) is their declarative description.
    """
    out = {}
    for c in contracts().values():
        out[c.table] = c
        out[c.versions_table] = c
    return out


def undescribed_tables(table_names) -> list[str]:
    """Tables that are neither a described dataset nor a system table (should be none)."""
    described = {s.table for s in DATASETS if s.table} | set(contract_tables())
    return sorted(set(table_names) - described - SYSTEM_TABLES)


def contract_rows(table_columns: dict, count: Callable[[str], int], city_adcode: int,
                  city_name: str, modified: date) -> list[dict]:
    """Catalog rows of the ingest contracts whose view is in the store (0 rows until loaded)."""
    rows = []
    seen = set()
    for table, c in contract_tables().items():
        if table != c.table or table not in table_columns or c.id in seen:
            continue
        seen.add(c.id)
        publisher = publisher_name(c.department, city_name)
        rows.append({
            "city_adcode": city_adcode, "dataset_id": c.id, "title": c.title, "title_en": c.title_en,
            "description": c.description or c.description_en, "publisher": publisher,
            "publisher_en": c.department_en, "theme": c.theme, "keywords": ", ".join(c.keywords),
            "temporal_start": None, "temporal_end": None, "spatial": f"{city_name} ({city_adcode})",
            "update_frequency": c.update_frequency, "access_level": c.access_level,
            "licence": c.licence or LICENCES.get(c.access_level, ""), "modified": modified,
            "negative_list": bool(c.negative_list), "negative_reason": c.negative_reason,
            "source_table": c.table, "row_count": int(count(c.table)), "synthetic": True,
            "columns_json": json.dumps(c.columns_json(), ensure_ascii=False),
        })
    return rows


def frame_years(frame: pd.DataFrame) -> tuple[int | None, int | None]:
    """First and last year a frame covers (``year`` or ``registry_year``), if it has either."""
    for col in ("year", "registry_year"):
        if col in frame.columns and not frame.empty:
            return int(frame[col].min()), int(frame[col].max())
    return None, None


# -- datasets of a store ---------------------------------------------------------------
COUNT_COLUMNS = ("persons", "recipients", "count")


def _spec_from_row(row: dict) -> DatasetSpec | None:
    """A dataset catalogued by its department's contract (ingest), not by DATASETS.

    Served as its catalog row says; count columns of persons get small-cell suppression
    (primary only: its published margins are not known here). Confidential ones are never
    served, so they need no spec.
    """
    if row["access_level"] == "confidential" or row["negative_list"] or not row["source_table"]:
        return None
    names = [c["name"] for c in json.loads(row["columns_json"])]
    return DatasetSpec(
        row["dataset_id"], "data_resources", "urban", row["title"], row["title_en"],
        row["description"], row["description"], row["keywords"], row["access_level"],
        row["update_frequency"] if row["update_frequency"] in ("daily", "monthly", "quarterly",
                                                               "annual") else "irregular",
        row["source_table"], count_columns=tuple(c for c in names if c in COUNT_COLUMNS),
        synthetic=bool(row["synthetic"]))


def spec_of(store: Store, dataset_id: str) -> DatasetSpec | None:
    """A dataset's spec: the registry's, else one made from the store's catalog row (a
    department's pooled dataset).

    Parameters
    ----------
    store : Store
        The city store.
    dataset_id : str
        The dataset.

    Returns
    -------
    DatasetSpec or None
        None where neither knows it.
    """
    s = spec(dataset_id)
    if s is not None:
        return s
    row = _row(store, dataset_id)
    return None if row is None else _spec_from_row(row)


def _row(store: Store, dataset_id: str) -> dict | None:
    rows = store.query("open_data.dataset", dataset_id=dataset_id)
    return None if rows.empty else rows.iloc[0].to_dict()


def servable_columns(store: Store, dataset_id: str) -> list[str]:
    """Columns an application may ask for (after masking and withheld columns)."""
    s = spec_of(store, dataset_id)
    if s is None or s.table is None:
        return []
    table_cols = list(store.columns(s.table).itertuples(index=False, name=None))
    return [c for c, _ in served_columns(s, table_cols)]


def restricted_tables() -> set[str]:
    """Tables whose raw rows leave only through the access function: the tables of
    confidential, on-application or record-level datasets that no plain public dataset reads
    whole, department tables whose contract is not public, and the store's old key table."""
    public = {s.table for s in DATASETS
              if s.access == "public" and s.table and not s.aggregate and not s.record_level}
    closed = {s.table for s in DATASETS
              if s.table and (s.access != "public" or s.record_level)}
    closed |= {t for t, c in contract_tables().items() if c.access_level != "public"}
    return (closed - public) | {"privacy_keys"}


_store_module.restrict(*restricted_tables())
