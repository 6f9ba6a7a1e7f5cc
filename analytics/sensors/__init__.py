"""City infrastructure sensors: instrumented manhole covers, their telemetry and alerts.

- ``model``: asset types (network, owner, chamber depth), channels, fault kinds, roles.
- ``simulator``: telemetry with noise, daily cycles, rain and injected faults (ground truth).
- ``detection``: rules with hysteresis plus a learned, peer-relative drift score.
- ``pipeline``: the ingest door (validation, batch append, detection, alerts), the alert
  workflow open -> acknowledged -> resolved, and a simulated feed in background threads.
- ``score``: a robust streaming z-score for any ``timestamp,value`` series.
- ``evaluate``: precision and recall per fault kind against the simulator's truth.
- ``views``: read models for the Infrastructure page.
"""
