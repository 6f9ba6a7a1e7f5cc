"""One place for the product's settings: where its files are, and the store it serves.

Every path the library reads (reference figures, department contracts, example files) is
found here, once. The data folder is the repository's ``data/`` (or the copy an installed
package carries); ``CITYBRAIN_DATA`` points elsewhere, ``CITYBRAIN_STORE`` names the store.
``CITYBRAIN_BASEMAP_STYLE`` (off by default) names a basemap style on the city's own tile
server for the planning maps.

>>> from analytics.settings import settings
>>> (settings().reference_dir / "hangzhou_2020_census_districts.csv").is_file()
True
>>> settings().contracts_dir.name
'contracts'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from analytics.errors import CityBrainError


def _default_data_dir() -> Path:
    """The packaged ``analytics/_data`` when installed from a wheel, else the repository's."""
    packaged = Path(str(resources.files("analytics"))) / "_data"
    if packaged.is_dir():
        return packaged
    return Path(str(resources.files("analytics"))).parent / "data"


@dataclass(frozen=True)
class Settings:
    """Validated settings; build one with :func:`settings` (reads the environment once)."""

    data_dir: Path
    store_path: Path
    #: A basemap style (MapLibre style JSON) on the city's own tile server, or None (the
    #: default: maps draw on a plain background and nothing leaves the machine).
    basemap_style: str | None = None

    def __post_init__(self) -> None:
        if self.basemap_style is not None and not re.match(r"^https?://[^\s/]+/\S*$",
                                                           self.basemap_style):
            raise CityBrainError(
                f"CITYBRAIN_BASEMAP_STYLE must be an http(s) address of a MapLibre style "
                f"JSON on the city's own tile server (got {self.basemap_style!r})",
                code="settings_basemap", value=self.basemap_style)
        if not (self.data_dir / "reference").is_dir():
            raise CityBrainError(
                f"the data folder {self.data_dir} has no reference/ figures; set CITYBRAIN_DATA "
                "to the product's data folder", code="settings_data_dir", path=str(self.data_dir))

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def contracts_dir(self) -> Path:
        return self.data_dir / "contracts"

    @property
    def examples_dir(self) -> Path:
        return self.data_dir / "examples"


@cache
def settings() -> Settings:
    """The settings of this process (environment read once)."""
    data = Path(os.environ.get("CITYBRAIN_DATA") or _default_data_dir())
    store = Path(os.environ.get("CITYBRAIN_STORE") or "data/city.duckdb")
    basemap = (os.environ.get("CITYBRAIN_BASEMAP_STYLE") or "").strip() or None
    return Settings(data_dir=data.resolve(), store_path=store, basemap_style=basemap)
