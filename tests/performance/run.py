"""`make bench`: run every benchmark, print the table, write .local/bench.json."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_REGION", "eu-west-1")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ[_name] = "bench"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WorkforceMonitoring")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")

import warnings  # noqa: E402

from tests.performance import (  # noqa: E402
    bench_analytics,
    bench_audit,
    bench_cold_import,
    bench_ingest_api,
    bench_ingest_stream,
)
from tests.performance.report import BENCH_JSON, Report  # noqa: E402

BENCHES = {
    "cold_import": bench_cold_import.run,
    "ingest_api": bench_ingest_api.run,
    "ingest_stream": bench_ingest_stream.run,
    "audit": bench_audit.run,
    "analytics": bench_analytics.run,
}


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")
    selected = argv or list(BENCHES)
    report = Report()
    for name in selected:
        print(f"running {name} ...", flush=True)
        BENCHES[name](report)
    report.print_table()
    report.write()
    print(f"\nwritten: {BENCH_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
