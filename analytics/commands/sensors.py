"""``python -m analytics sensors``: simulate manhole-cover telemetry; score any series; benchmark."""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

from analytics.errors import CityBrainError
from analytics.sensors import nab, series
from analytics.sensors import score as scoring
from analytics.sensors.pipeline import SimulatedFeed
from analytics.sensors.simulator import Simulator, interval_for
from analytics.server.client import Client
from analytics.store import Store
from analytics.textsafe import printable


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
    sim.add_argument("--url", default=None,
                     help="send the readings to this running server (POST /api/sensors/readings, "
                     "a gateway's token in --token or $CITYBRAIN_TOKEN) instead of into STORE")
    sim.add_argument("--token", default=None, help="gateway token for --url")
    sim.set_defaults(func=run_simulate)

    sc = s.add_parser(
        "score", help="score a timestamp,value CSV: prints timestamp,value,score,is_anomaly",
        description="Read a CSV with columns timestamp,value (e.g. a labelled public benchmark "
        "series) and print timestamp,value,score,is_anomaly. The score is an anomaly "
        "likelihood in [0, 1]: how improbable the value is given the series' own forecast "
        "(level, daily and weekly cycles) and learned spread; it uses only the past, so it "
        "is what a live feed would see. is_anomaly is 1 on the value that raised an alert: "
        "at most one per hold-off, so one per incident.")
    sc.add_argument("file", type=Path, help="CSV file with a header timestamp,value")
    sc.add_argument("--threshold", type=float, default=series.THRESHOLD,
                    help=f"likelihood at which an alert is raised (default {series.THRESHOLD})")
    sc.add_argument("--holdoff", type=int, default=None,
                    help="calm values after an alert before a new one (default: "
                    f"{Fraction(series.HOLDOFF_CYCLES).limit_denominator(24)} of the series' "
                    "shortest cycle in values, a day for sub-hourly readings; at least "
                    f"{series.HOLDOFF_MIN})")
    sc.set_defaults(func=run_score)

    nb = s.add_parser(
        "benchmark", help="score detectors on a labelled corpus with the NAB rules",
        description="Score the detector, the earlier z-score detector and a detector that "
        "never fires on a labelled corpus with the Numenta Anomaly Benchmark's published "
        "rules (standard profile: A_TP=1, A_FP=0.11, A_FN=1; never-fires = 0, perfect = 100). "
        "DIR holds timestamp,value CSV files; LABELS lists anomaly windows per file, as the "
        "benchmark's JSON ({\"sub/file.csv\": [[start, end], ...]}) or a CSV file,start,end.")
    nb.add_argument("dir", type=Path,
                    help="folder of series CSV files, or the benchmark's repository (series "
                    "under data/); labelled series missing from it are named and left out")
    nb.add_argument("labels", type=Path, help="windows: JSON (benchmark layout) or CSV")
    nb.add_argument("--threshold", type=float, default=series.THRESHOLD,
                    help=f"our detector's alert likelihood (default {series.THRESHOLD})")
    nb.set_defaults(func=run_benchmark)

    gw = s.add_parser(
        "gateways", help="the broker's gateways: their covers, topics and credentials",
        description="List the gateways covers report through (one per district and network: "
        "GW-{district}-{network}) as CSV: gateway, district, network, covers, the topic of its "
        "batches and its password, derived from $CITYBRAIN_MQTT_KEY (the key the server runs "
        "with) to hand to its devices. With --mosquitto, write a mosquitto broker's "
        "configuration, password and ACL files for the same gateways and rules as the "
        "embedded broker, for a city running its own broker (CITYBRAIN_MQTT=mqtt://host:port).")
    gw.add_argument("--store", type=Path, default=Path("data/city.duckdb"),
                    help="store file (its published snapshot while the server runs)")
    gw.add_argument("--mosquitto", type=Path, default=None, metavar="DIR",
                    help="write mosquitto.conf, passwd and acl into DIR")
    gw.add_argument("--port", type=int, default=1883, help="the port mosquitto listens on")
    gw.add_argument("--host", default="127.0.0.1", help="the address mosquitto listens on")
    gw.add_argument("--user", default=None,
                    help="the account mosquitto runs as when started by root (default: its "
                    "own, mosquitto, which must then be able to read DIR)")
    gw.set_defaults(func=run_gateways)


def run_simulate(args) -> int:
    if args.seconds is not None and args.seconds <= 0:
        raise CityBrainError(f"--seconds must be positive, got {args.seconds}")
    if not 0 <= args.dirty < 0.5:
        raise CityBrainError(f"--dirty is a share between 0 and 0.5, got {args.dirty}")
    if args.url:
        return _simulate_over_http(args)
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


def _simulate_over_http(args) -> int:
    """The simulator as a gateway: readings go to the server like any gateway's."""
    import io
    import os
    from collections import Counter

    import pandas as pd
    import requests

    client = Client(args.url.rstrip("/"), args.token or os.environ.get("CITYBRAIN_TOKEN"))
    if not client.token:
        raise CityBrainError("give a gateway token (--token or $CITYBRAIN_TOKEN): a data steward "
                             "creates one on the account page")
    try:
        r = requests.get(f"{client.url}/api/download/assets.parquet", timeout=120)
    except requests.RequestException:
        raise CityBrainError(f"no server answers at {client.url}: start it with `make run`") \
            from None
    if r.status_code != 200:
        raise CityBrainError(f"the server at {client.url} did not give the asset register "
                             f"({r.status_code})")
    assets = pd.read_parquet(io.BytesIO(r.content))
    interval = interval_for(len(assets), args.rate)
    sim = Simulator(assets, start=time.time(), interval_s=interval, seed=args.seed,
                    dirty=args.dirty)
    sent, accepted, refused, raised = 0, 0, Counter(), 0
    started = time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - started < args.seconds:
            frame = sim.advance(time.time())
            if len(frame):
                got = client.readings(frame.to_csv(index=False).encode(), "text/csv")
                sent += len(frame)
                accepted += got["accepted"]
                refused.update(got["rejected"])
                raised += got["alerts_raised"]
            time.sleep(0.25)
    except KeyboardInterrupt:
        pass
    lost = sent - accepted - sum(refused.values())
    print(f"sent={sent} accepted={accepted} "
          + " ".join(f"rejected_{k}={v}" for k, v in sorted(refused.items()))
          + f" lost={lost} alerts_raised={raised}")
    return 0 if lost == 0 else 1


def run_score(args) -> int:
    frame = scoring.read_series(args.file)
    out = scoring.score_series(frame, threshold=args.threshold, holdoff=args.holdoff)
    out.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _summary(scores, series: bool = False) -> str:
    """One line of scores: the normalised score (n/a where the series hold no window),
    windows detected and false positives."""
    value = f"{nab.normalised(scores):7.1f}" if any(s.windows for s in scores) else "    n/a"
    return (f"score {value}" + (f"  series {len(scores):>2}" if series else "")
            + f"  detected {sum(s.tp for s in scores)}/{sum(s.windows for s in scores)}"
            f"  false positives {sum(s.fp for s in scores)}")


def run_benchmark(args) -> int:
    import numpy as np

    if not args.dir.is_dir():
        raise CityBrainError(f"{args.dir}: no such folder")
    labels = nab.read_windows(args.labels)
    if not labels:
        raise CityBrainError(f"{args.labels}: no series listed")
    detectors = {
        "this detector": lambda f: scoring.score_series(f, threshold=args.threshold)
        ["is_anomaly"].to_numpy(),
        "earlier z-score (>= 6)": lambda f: scoring.zscore_detections(f["value"].to_numpy()),
        "never fires": lambda f: np.zeros(len(f), bool),
    }
    folder, present, missing = nab.series_under(args.dir, labels)
    if not present:
        example = next(iter(sorted(labels)))
        raise CityBrainError(f"{args.dir}: none of the {len(labels)} series listed in "
                             f"{args.labels} is there (e.g. {printable(args.dir / example)})")
    if missing:
        print(f"{len(missing)} of the {len(labels)} labelled series are not under {folder} and "
              f"are left out: {printable(', '.join(missing[:5]))}"
              f"{' ...' if len(missing) > 5 else ''}",
              file=sys.stderr)
    frames = {name: scoring.read_series(folder / name) for name in present}
    scores = {det: {name: nab.score_detections(f["timestamp"], fn(f), labels[name])
                    for name, f in frames.items()} for det, fn in detectors.items()}
    listed = sum(len(labels[n]) for n in present)
    inside = sum(s.windows for s in scores["never fires"].values())
    print(f"{len(frames)} series, {sum(len(f) for f in frames.values()):,} values, "
          f"{inside} windows" + (f" ({listed - inside} more listed fall outside the series)"
                                 if listed != inside else "") + "; NAB standard profile")
    for det, by_name in scores.items():
        print(f"{det:<26} {_summary(list(by_name.values()))}")
    by_group: dict[str, list] = {}
    for name, sc in scores["this detector"].items():
        by_group.setdefault(Path(name).parts[0] if len(Path(name).parts) > 1 else ".",
                            []).append(sc)
    if len(by_group) > 1:
        print("this detector, by folder:")
        for group, group_scores in sorted(by_group.items()):
            print(f"  {printable(group):<24} {_summary(group_scores, series=True)}")
    return 0


def run_gateways(args) -> int:
    """Print the register's gateways as CSV (with passwords), and write mosquitto's files."""
    import os

    from analytics.sensors import broker as mq
    from analytics.store import open_for_reading

    key = os.environ.get("CITYBRAIN_MQTT_KEY", "")
    if not key:
        raise CityBrainError("set CITYBRAIN_MQTT_KEY to the key the server runs with: each "
                             "gateway's password derives from it")
    with open_for_reading(args.store) as store:
        assets = store.query("sensors.assets")
    if assets.empty:
        raise CityBrainError(f"{args.store} has no manhole covers: load the cover register "
                             "(urban_management_manholes) or build the assets stage")
    adcode = int(assets["city_adcode"].iat[0])
    table = (assets.assign(gateway=mq.gateway_ids(assets))
             .groupby(["gateway", "district_adcode", "asset_type"], as_index=False)
             .size().rename(columns={"asset_type": "network", "size": "covers"}))
    table["topic"] = [mq.gateway_topic(adcode, g) for g in table["gateway"]]
    table["password"] = [mq.password_for(key, g) for g in table["gateway"]]
    if args.mosquitto is not None:
        conf = mq.mosquitto_files(args.mosquitto, adcode=adcode, gateways=table["gateway"].tolist(),
                                  key=key, port=args.port, host=args.host, user=args.user)
        print(f"wrote {conf} with passwd and acl for {len(table):,} gateways; hash the "
              f"passwords with `mosquitto_passwd -U {args.mosquitto / 'passwd'}`, start "
              f"`mosquitto -c {conf}`, and run the server with "
              f"CITYBRAIN_MQTT=mqtt://{args.host}:{args.port}", file=sys.stderr)
    table.to_csv(sys.stdout, index=False)
    return 0
