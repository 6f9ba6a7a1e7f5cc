"""A clearly synthetic register of elderly residents receiving care subsidies.

Invented people, drawn from the synthetic population of the cells in the last year built:
the number of recipients in a cell, age group and sex is a binomial draw from that cell's
residents at the take-up rates below, so the register agrees with the population map. Each
record has the personal fields a real register holds (name, 18-character resident ID with a
valid GB 11643-1999 check digit, mobile number, address, date of birth), which is what makes
the masking and k-anonymity of :mod:`analytics.opendata.privacy` testable on realistic data. Nothing
here describes a real person.

Take-up rates and amounts are documented assumptions in the range of Zhejiang's programmes
(高龄津贴 for ages 80+, 居家养老服务补贴 and 护理补贴 for older people with care needs), not
published figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.opendata.privacy import GIVEN, SURNAMES, prc_id_check_digit
from analytics.population import AGE_GROUPS

#: Share of residents of each age group who receive a care subsidy (assumption).
TAKE_UP = {"60-64": 0.002, "65-69": 0.004, "70-74": 0.008, "75-79": 0.015, "80+": 0.06}
#: Monthly amounts in yuan by subsidy type (assumption).
AMOUNTS = {"高龄津贴": (100, 200), "居家养老服务补贴": (300, 600), "护理补贴": (400, 400)}
ROADS = ("文一路", "文二路", "文三路", "学院路", "教工路", "古墩路", "丰潭路", "江南大道",
         "滨盛路", "长河路", "西溪路", "天目山路", "莫干山路", "体育场路", "凤起路", "庆春路",
         "秋涛路", "建国路", "中河路", "东新路", "石桥路", "临平大道", "南苑街", "文化路")
MOBILE_PREFIXES = ("130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "157", "158", "159", "177", "180", "181", "186", "187", "188", "189",
                   "199")


def draw(cells_pop: pd.DataFrame, districts: pd.DataFrame, year: int, city_adcode: int,
         rng: np.random.Generator) -> pd.DataFrame:
    """Recipients drawn from ``cells_pop`` (one year of population_cells)."""
    pop = cells_pop[cells_pop["age_group"].isin(TAKE_UP)].reset_index(drop=True)
    n = rng.binomial(pop["persons"].to_numpy(), pop["age_group"].map(TAKE_UP).to_numpy())
    rec = pop.loc[np.repeat(pop.index.to_numpy(), n),
                  ["cell", "district_adcode", "age_group", "sex"]].reset_index(drop=True)
    m = len(rec)
    lo = rec["age_group"].map(lambda g: AGE_GROUPS[g][0]).to_numpy()
    hi = rec["age_group"].map(lambda g: AGE_GROUPS[g][1]).to_numpy()
    old = rec["age_group"].to_numpy() == "80+"
    age = np.where(old, np.minimum(80 + rng.exponential(5.5, m).astype(int), 100),
                   rng.integers(lo, hi + 1))
    birth_year = year - age
    day = rng.integers(0, 365, m)
    birth = pd.to_datetime(pd.Series(birth_year).astype(str) + "-01-01") + pd.to_timedelta(day, "D")
    rec["age"] = age.astype("int16")
    rec["birth_date"] = birth.dt.date
    male = rec["sex"].to_numpy() == "M"
    seq = rng.integers(0, 500, m) * 2 + np.where(male, 1, 0)
    first17 = (rec["district_adcode"].astype(str) + birth.dt.strftime("%Y%m%d").to_numpy()
               + pd.Series(seq).map("{:03d}".format))
    ids = first17 + first17.map(prc_id_check_digit)
    dup = ids.duplicated()
    while dup.any():  # same district, birthday and sequence: draw another sequence number
        seq2 = rng.integers(0, 500, int(dup.sum())) * 2 + np.where(male[dup.to_numpy()], 1, 0)
        f17 = first17[dup].str[:14] + pd.Series(seq2, index=first17[dup].index).map("{:03d}".format)
        first17[dup] = f17
        ids = first17 + first17.map(prc_id_check_digit)
        dup = ids.duplicated()
    rec["id_number"] = ids
    surnames = np.array(list(SURNAMES))
    given = np.array(list(GIVEN))
    two = rng.random(m) < 0.7
    rec["name"] = (surnames[rng.integers(0, len(surnames), m)] + given[rng.integers(0, len(given), m)]
                   + np.where(two, given[rng.integers(0, len(given), m)], ""))
    rec["phone"] = (np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), m)]
                    + pd.Series(rng.integers(0, 10**8, m)).map("{:08d}".format).to_numpy())
    names = districts.set_index("adcode")["name"]
    rec["address"] = (rec["district_adcode"].map(names).fillna("")
                      + np.array(ROADS)[rng.integers(0, len(ROADS), m)]
                      + pd.Series(rng.integers(1, 400, m)).astype(str).to_numpy() + "号"
                      + pd.Series(rng.integers(1, 30, m)).astype(str).to_numpy() + "幢"
                      + pd.Series(rng.integers(1, 4, m)).astype(str).to_numpy() + "单元"
                      + pd.Series(rng.integers(1, 20, m) * 100 + rng.integers(1, 5, m)
                                  ).astype(str).to_numpy() + "室（合成）")
    care = rng.random(m)
    rec["subsidy_type"] = np.where(old & (care < 0.8), "高龄津贴",
                                   np.where(care < 0.85, "居家养老服务补贴", "护理补贴"))
    low_high = rec["subsidy_type"].map(AMOUNTS)
    rec["monthly_yuan"] = np.where(age >= 90, low_high.str[1], low_high.str[0]).astype("int32")
    rec["since_year"] = (year - rng.integers(0, np.maximum(np.minimum(age - 59, 11), 1))).astype("int16")
    rec["registry_year"] = np.int16(year)
    rec["city_adcode"] = city_adcode
    rec = rec.sort_values(["district_adcode", "cell", "id_number"]).reset_index(drop=True)
    rec["record_id"] = [f"R{i:07d}" for i in range(1, len(rec) + 1)]
    return rec


def stage(ctx) -> None:
    pop = ctx.tables.get("population_cells")
    if pop is None or pop.empty:
        raise RuntimeError("the registry stage needs population_cells: run it after population")
    year = int(pop["year"].max())
    reg = draw(pop[pop["year"] == year], ctx.tables["districts"], year, ctx.config.city_adcode,
               ctx.rng("registry"))
    ctx.tables["care_subsidy_registry"] = reg
    ctx.progress(f"[registry] {len(reg):,} synthetic care-subsidy records for {year}")
