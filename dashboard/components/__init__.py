"""Shared UI pieces: KPI tiles, charts and tables drawn by the server, the district choropleth,
and cached loaders of what the pages show."""
