"""City infrastructure sensors: instrumented manhole covers, their telemetry and alerts."""
