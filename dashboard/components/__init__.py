"""Shared UI pieces: KPI tiles, charts with their data download, the district choropleth,
and cached loaders of what the pages show."""
