"""The calibrated synthetic city: boundaries, population, facilities, assets, catalog."""
