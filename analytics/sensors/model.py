"""What an instrumented manhole cover is, what it reports, and what can go wrong with it.

One place for the asset types (the network under the cover, its owner and chamber depth),
the reading's channels and the fault kinds, so the build, simulator, detector and page agree.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Channels of one reading, with units. Water level is the height above the chamber floor,
#: read by an ultrasonic sensor on the underside of the cover.
CHANNELS = ("tilt_deg", "displacement_mm", "water_level_cm", "battery_v", "signal_dbm")

#: What a cover's sensors can report, per channel: a value outside it is no measurement (a
#: corrupted frame, a unit mix-up, a counter overflow) and the reading is refused as
#: ``out_of_range`` rather than raising alarms. The ranges are wide on purpose: they refuse
#: the impossible, not the unusual. Water level is bounded per chamber (``None`` here), by
#: :func:`level_range`.
CHANNEL_RANGES = {
    "tilt_deg": (-180.0, 180.0),
    "displacement_mm": (-10_000.0, 10_000.0),
    "water_level_cm": None,
    "battery_v": (0.0, 30.0),
    "signal_dbm": (-200.0, 50.0),
}
#: How far below the chamber floor a level reading may sit (sensor calibration).
LEVEL_BELOW_FLOOR_CM = 10.0


def level_range(depth_cm):
    """The water levels a chamber of ``depth_cm`` can report, as ``(lowest, highest)``: from
    just below its floor to as much water again over the cover as the chamber is deep (a
    flooded street stands far lower; the bound refuses only what cannot be).

    >>> level_range(300)
    (-10.0, 600)
    """
    return -LEVEL_BELOW_FLOOR_CM, 2 * depth_cm


@dataclass(frozen=True)
class AssetType:
    key: str
    name_zh: str
    name_en: str
    owner_zh: str
    owner_en: str
    share: float            # share of instrumented covers
    depth_cm: tuple[int, int]  # chamber depth range
    base_fill: tuple[float, float]  # dry-weather water level, share of depth
    rain_gain: tuple[float, float]  # how much of a rain event's rise reaches this chamber
    carries_water: bool


#: Networks whose covers are instrumented first: drainage carries most of them, as drainage
#: chambers are where open or overflowing covers hurt people.
ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType("sewer", "污水井盖", "Sewer cover", "城市管理局（排水）", "Urban Management Bureau (drainage)",
              0.35, (200, 400), (0.10, 0.22), (0.6, 0.9), True),
    AssetType("storm", "雨水井盖", "Storm-drain cover", "城市管理局（排水）",
              "Urban Management Bureau (drainage)", 0.30, (150, 300), (0.03, 0.10), (0.9, 1.2), True),
    AssetType("water", "给水井盖", "Water-supply cover", "水务集团", "Water Supply Group",
              0.12, (120, 200), (0.00, 0.05), (0.1, 0.3), False),
    AssetType("power", "电力井盖", "Power cover", "供电公司", "Power Supply Company",
              0.10, (150, 250), (0.00, 0.05), (0.1, 0.3), False),
    AssetType("telecom", "通信井盖", "Telecom cover", "通信管理局", "Communications Administration",
              0.10, (100, 150), (0.00, 0.05), (0.1, 0.3), False),
    AssetType("gas", "燃气井盖", "Gas cover", "燃气集团", "Gas Group",
              0.03, (100, 150), (0.00, 0.03), (0.0, 0.1), False),
)
ASSET_TYPE_KEYS = tuple(t.key for t in ASSET_TYPES)


def asset_type(key: str) -> AssetType:
    for t in ASSET_TYPES:
        if t.key == key:
            return t
    raise KeyError(f"unknown asset type {key!r}; types are {', '.join(ASSET_TYPE_KEYS)}")


#: Fault kinds the simulator injects and the detector names, in the order the page lists them.
FAULT_KINDS = ("lifted", "tilted", "overflow", "drift", "dead_battery", "stuck")

#: The kind of a fault and an alert on a whole network of a district (no single cover): a
#: surge the simulator injects, the network watch's alert.
NETWORK_KIND = "network_level"

#: Alert states, in the order an alert moves through them.
ALERT_STATES = ("open", "acknowledged", "resolved")

#: Roles allowed to acknowledge and resolve alerts (city operations staff).
OPERATOR_ROLES = ("administrator", "data_steward")
