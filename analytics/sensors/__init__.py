"""City infrastructure sensors: instrumented manhole covers, their telemetry and alerts.

- ``model``: asset types (network, owner, chamber depth), channels, fault kinds, roles.
- ``simulator``: telemetry with noise, daily cycles, rain and injected faults, and surges of
  whole networks (ground truth).
- ``detection``: rules with hysteresis plus a learned, peer-relative drift score.
- ``pipeline``: the ingest door (validation, batch append, detection, alerts), the alert
  workflow open -> acknowledged -> resolved, and a simulated feed in background threads.
- ``series``: the detector for any real series — seasonal forecast, learned spread, an
  anomaly likelihood in [0, 1], one alert per incident (hold-off).
- ``score``: ``timestamp,value`` files through that detector; the earlier z-score baseline.
- ``nab``: the Numenta Anomaly Benchmark's published scoring rules, for any labelled corpus.
- ``corpus``: real series shipped in PyPI packages, with anomalies inserted by rule.
- ``evaluate``: precision and recall per fault kind (and per network surge) against the
  simulator's truth; any detector on a labelled corpus of real series.
- ``broker``: gateways, their credentials, the embedded MQTT broker (and mosquitto files).
- ``feed``: the broker-fed ingest path (subscribe, validate, store, detect, acknowledge).
- ``network``: each network of each district as one series (its median fill per five
  minutes) through the ``series`` detector: alerts on a whole network.
- ``views``: read models for the Infrastructure page.

A flat series that changes once raises one alert, with a score that stays in [0, 1]:

>>> import numpy as np
>>> from analytics.sensors.series import detect
>>> score, alert = detect(np.r_[np.zeros(300), np.ones(100)])
>>> np.flatnonzero(alert).tolist(), float(score.max())
([300], 1.0)
"""
