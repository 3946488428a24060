"""One Logger, Tracer and Metrics for the whole process, configured from Powertools env vars.

The Tracer is created lazily-safe: Powertools only imports the X-Ray SDK when tracing is
enabled (it is disabled outside Lambda and when POWERTOOLS_TRACE_DISABLED=true).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "WorkforceMonitoring"

logger = Logger(utc=True)
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
