"""``python -m analytics sensors``: simulate manhole-cover telemetry; score any series."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from analytics.errors import CityBrainError
from analytics.sensors import score as scoring
from analytics.sensors.pipeline import SimulatedFeed
from analytics.store import Store


def register(sub) -> None:
    p = sub.add_parser("sensors", help="infrastructure sensors: simulate a feed, score a series",
                       description="Manhole-cover telemetry: run the simulated feed into a store, "
                       "or score any timestamp,value series for anomalies.")
    s = p.add_subparsers(dest="sensors_command", metavar="ACTION", required=True)

    sim = s.add_parser(
        "simulate", help="stream simulated readings into a store (one not being served)",
        description="Stream simulated readings (with injected faults recorded as ground truth) "
        "through the real ingest, detection and alerting path into STORE. DuckDB lets one "
        "process write a store: run this on a store the app is not serving (or start the feed "
        "from the Infrastructure page, which runs it inside the app).")
    sim.add_argument("--rate", type=float, required=True, help="readings per second, overall")
    sim.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    sim.add_argument("--store", type=Path, default=Path("data/city.duckdb"), help="store file")
    sim.add_argument("--seed", type=int, default=0, help="simulator seed")
    sim.add_argument("--dirty", type=float, default=0.0,
                     help="share of bad rows to mix in (duplicates, late, future, non-numeric, "
                     "unknown asset), e.g. 0.001")
    sim.set_defaults(func=run_simulate)

    sc = s.add_parser(
        "score", help="score a timestamp,value CSV: prints timestamp,value,score,is_anomaly",
        description="Read a CSV with columns timestamp,value (e.g. a labelled public benchmark "
        "series) and print timestamp,value,score,is_anomaly. The score is a robust streaming "
        "z-score: distance from the median of the previous WINDOW values in units of their "
        "median absolute deviation; it uses only the past, so it is what a live feed would see.")
    sc.add_argument("file", type=Path, help="CSV file with a header timestamp,value")
    sc.add_argument("--window", type=int, default=scoring.WINDOW,
                    help=f"past values the score compares with (default {scoring.WINDOW})")
    sc.add_argument("--threshold", type=float, default=scoring.THRESHOLD,
                    help=f"score at which a value is an anomaly (default {scoring.THRESHOLD})")
    sc.set_defaults(func=run_score)


def run_simulate(args) -> int:
    if args.seconds is not None and args.seconds <= 0:
        raise CityBrainError(f"--seconds must be positive, got {args.seconds}")
    if not 0 <= args.dirty < 0.5:
        raise CityBrainError(f"--dirty is a share between 0 and 0.5, got {args.dirty}")
    with Store.open(args.store) as store:
        feed = SimulatedFeed(store, args.rate, seed=args.seed, dirty=args.dirty)
        print(f"{len(feed.pipeline.assets):,} assets, one reading each every "
              f"{feed.interval:.2f} s = {args.rate:g} readings/s; learning normal behaviour …",
              file=sys.stderr)
        feed.start()
        started = time.monotonic()
        try:
            while args.seconds is None or time.monotonic() - started < args.seconds:
                time.sleep(min(5.0, args.seconds or 5.0))
                st = feed.pipeline.stats
                print(f"{time.monotonic() - started:6.0f} s  received {st.received:,}  "
                      f"accepted {st.accepted:,}  rejected {sum(st.rejected.values()):,}  "
                      f"alerts raised {st.raised:,}", file=sys.stderr)
                if feed.error is not None:
                    break
        except KeyboardInterrupt:
            pass
        st = feed.stop()
    print(f"received={st.received} accepted={st.accepted} late={st.late} "
          + " ".join(f"rejected_{k}={v}" for k, v in sorted(st.rejected.items()))
          + f" lost={st.lost} alerts_raised={st.raised} faults_injected={len(feed.sim.faults)}")
    return 0 if st.lost == 0 else 1


def run_score(args) -> int:
    frame = scoring.read_series(args.file)
    out = scoring.score_series(frame, window=args.window, threshold=args.threshold)
    out.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0
