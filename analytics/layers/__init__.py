"""Layers: which source feeds each analytic layer, department data or synthetic, with provenance.

The analyses read five layers (``population_cells``, ``population_districts``,
``vital_events``, ``facilities``, ``assets``). Each is a view in the store: the current
version of the department datasets that feed it (their contracts say ``layer:``) and,
only where no department data exists for the same type and district (facilities, assets)
or year and district (population), the calibrated synthetic default. Every row carries
``source``. :func:`sources` lists, per layer and district, what feeds it.

>>> from analytics.layers import LAYERS, feeds
>>> [c.id for c in feeds("population_districts")]
['public_security_residents']
>>> LAYERS["facilities"].replace_on
('type', 'district_adcode')
"""

from analytics.layers.provenance import (
    YEAR_LAYERS,
    district_sources,
    facilities_list,
    grid_gap,
    missing_layers,
    source_by_district,
    source_by_year,
    source_summary,
    sources,
    split_source,
    year_sources,
)
from analytics.pooling.feeds import LAYERS, Layer, LayerError, feeds, layer, layer_types

__all__ = ["LAYERS", "YEAR_LAYERS", "Layer", "LayerError", "district_sources",
           "facilities_list", "feeds", "grid_gap", "layer", "layer_types", "missing_layers",
           "source_by_district", "source_by_year", "source_summary", "sources",
           "split_source", "year_sources"]
