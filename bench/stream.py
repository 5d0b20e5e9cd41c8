"""Benchmark: MQTT messages into the lake, against a bare subscriber that only counts them.

Run by hand: ``python bench/stream.py [--messages 1000000] [--batch-messages 20000]``.

It starts its own Mosquitto with the product's settings (src/urbanpulse/stream/
mosquitto.conf) on a free port, then for each payload mode:

1. creates both subscribers' persistent sessions (QoS 1), so the broker queues every
   message for each of them;
2. publishes the messages from several ``mosquitto_pub -l`` processes (QoS 1, its
   default 20 in flight: with ``-M 10000`` the 2.0.11 client lost 60 % of 200,000
   lines, acknowledged or not): single-observation JSON messages, or JSON batches of
   ``--batch-obs`` observations;
3. drains the queue with a bare paho subscriber that only counts messages (auto
   acknowledgement): the baseline;
4. drains the same queue with UrbanPulse's subscriber (``run_mqtt_stream``): decode,
   validate, commit micro-batches to the lake, acknowledge after commit;
5. counts what reached the lake: lost = keys published but not stored, duplicated =
   rows stored more than once.

Both subscribers read a queue the broker already holds, one after the other, so their
rates are sustained consumer rates on the same broker and machine, not bounded by the
publishers. Targets: >= 10,000 msg/s single-observation, >= 200,000 observations/s in
batches, lost = duplicated = 0. The last line is JSON.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.stream.mqtt import StreamOptions, run_mqtt_stream

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "src" / "urbanpulse" / "stream" / "mosquitto.conf"
SITES = 1000
BASE_TS = 1_795_996_800  # 2026-11-30T00:00:00Z
TARGET_MSGS, TARGET_OBS = 10_000, 200_000
STALL_S = 30.0  # a drain that receives nothing for this long has all it will get
console = Console(width=130)


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Mosquitto with the product's settings on a free port, persisting into ``folder``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    text = CONF.read_text("utf-8").replace("listener 1883 ", f"listener {port} ")
    text = text.replace(
        "persistence_location /var/lib/mosquitto/", f"persistence_location {folder}/"
    )
    conf = folder / "mosquitto.conf"
    conf.write_text(text + f"\nuser {getpass.getuser()}\n", "utf-8")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def build_payload(k: int, obs: int) -> bytes:
    """Message ``k``: one observation, or ``obs`` in a JSON array; keys never repeat."""
    rows = [
        {
            "site_id": f"bench-{j % SITES}",
            "metric": "flow",
            "ts": f"{_iso(BASE_TS + j // SITES)}",
            "value": float(j % 997),
            "unit": "vehicles",
        }
        for j in range(k * obs, (k + 1) * obs)
    ]
    return json.dumps(rows[0] if obs == 1 else rows).encode()


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def write_payloads(path: Path, messages: int, obs: int) -> None:
    """One message per line, as ``mosquitto_pub -l`` reads them."""
    with path.open("wb") as out:
        for k in range(messages):
            out.write(build_payload(k, obs) + b"\n")


def publish_all(port: int, topic: str, lines: Path, messages: int, processes: int) -> float:
    """Publish every line of ``lines`` with QoS 1 from ``processes`` mosquitto_pub
    processes (Mosquitto's C client: paho from Python published about 1,000 QoS 1
    messages/s per process here, so a million would take minutes); return the seconds."""
    shares = _split_lines(lines, processes)
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1",
             "-i", f"bench-pub-{n}", "-l"],
            stdin=subprocess.PIPE,
        )
        for n in range(len(shares))
    ]  # fmt: skip
    feeders = [
        threading.Thread(target=_feed, args=(worker, share))
        for worker, share in zip(workers, shares, strict=True)
    ]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    # mosquitto_pub 2.0.11 drops the lines still queued when its input ends: input stays
    # open until it has sent everything (it stops using CPU).
    _wait_until_idle(workers)
    finished = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.close()
        if worker.wait() != 0:
            raise RuntimeError("a publisher failed")
    return finished - started


def _feed(worker: subprocess.Popen[bytes], share: Path) -> None:
    assert worker.stdin is not None
    with share.open("rb") as source:
        shutil.copyfileobj(source, worker.stdin, 1 << 20)
    worker.stdin.flush()


def _wait_until_idle(workers: list[subprocess.Popen[bytes]]) -> None:
    """Wait until no publisher used CPU for a whole second (from /proc/<pid>/stat)."""
    last: list[int] = []
    idle = 0
    while idle < 4:
        time.sleep(0.25)
        used = [
            sum(map(int, Path(f"/proc/{w.pid}/stat").read_text().split()[13:15])) for w in workers
        ]
        idle = idle + 1 if used == last else 0
        last = used


def _split_lines(path: Path, parts: int) -> list[Path]:
    lines = path.read_bytes().splitlines(keepends=True)
    shares = []
    for n in range(parts):
        share = path.with_suffix(f".{n}")
        share.write_bytes(b"".join(lines[n::parts]))
        shares.append(share)
    return shares


def create_session(port: int, client_id: str, topic: str) -> None:
    """Subscribe once with a persistent session, so the broker queues for it."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    done = threading.Event()
    client.on_subscribe = lambda *args: done.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe(topic, qos=1)
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def drain_bare(port: int, client_id: str, topic: str, messages: int) -> tuple[float, int]:
    """The baseline: resume the session and count messages until all arrived."""
    count = 0
    first: list[float] = []
    finished = threading.Event()

    last = [0.0]

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal count
        last[0] = time.perf_counter()
        if not first:
            first.append(last[0])
        count += 1
        if count >= messages:
            finished.set()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    seen = -1
    while not finished.wait(STALL_S) and count != seen:
        seen = count  # a queue that stops short of the messages ends the wait too
    client.disconnect()
    client.loop_stop()
    return (last[0] - first[0] if first else 0.0), count


@dataclass
class Drained:
    seconds: float
    messages: int
    observations: int
    stored: int


def drain_urbanpulse(
    lake: Lake, port: int, client_id: str, topic: str, messages: int, batch_size: int
) -> Drained:
    """UrbanPulse's subscriber on the same queue, stopped once every message committed."""
    stop = threading.Event()
    seen = {"messages": 0, "stored": 0, "received": 0}
    marks: list[float] = []

    def on_batch(result: Any, count: int) -> None:
        marks.append(time.perf_counter())
        seen["messages"] += count
        seen["stored"] += result.stored
        seen["received"] += result.received
        if seen["messages"] >= messages:
            stop.set()

    def watch() -> None:  # a queue that stops short of the messages ends the run too
        while not stop.wait(STALL_S):
            if began and time.perf_counter() - (marks[-1] if marks else began[0]) > STALL_S:
                stop.set()

    options = StreamOptions.from_settings(
        Settings(lake_path=lake.root),
        host="127.0.0.1",
        port=port,
        topics=(topic,),
        client_id=client_id,
        batch_size=batch_size,
    )
    began: list[float] = []
    threading.Thread(target=watch, daemon=True).start()
    run_mqtt_stream(
        lake,
        Settings(lake_path=lake.root),
        stop_event=stop,
        options=options,
        on_batch=on_batch,
        on_ready=lambda: began.append(time.perf_counter()),
    )
    seconds = marks[-1] - began[0] if marks else float("nan")
    return Drained(seconds, seen["messages"], seen["received"], seen["stored"])


def count_lake(lake: Lake) -> tuple[int, int]:
    """(rows, distinct keys) of the lake's observations."""
    con = connect()
    rows, keys = con.execute(
        f"SELECT count(*), count(DISTINCT (site_id, metric, ts)) FROM ({scan_sql(lake, 'observations')})"
    ).fetchall()[0]
    return int(rows), int(keys)


def run_mode(
    port: int, workdir: Path, name: str, messages: int, obs: int, processes: int, batch: int
) -> dict[str, Any]:
    topic = f"bench/{name}"
    lake = Lake(workdir / f"lake-{name}")
    ids = [f"bench-{i}" for i in range(SITES)]
    upsert_sites(lake, pa.table({"site_id": ids, "kind": ["road_sensor"] * SITES}))
    bare_id, ours_id = f"bench-bare-{name}", f"bench-urbanpulse-{name}"
    create_session(port, bare_id, topic)
    create_session(port, ours_id, topic)
    lines = workdir / f"{name}.jsonl"
    write_payloads(lines, messages, obs)
    console.print(f"[{name}] publishing {messages:,} messages of {obs} observation(s)...")
    publish_s = publish_all(port, topic, lines, messages, processes)
    console.print(f"[{name}] published in {publish_s:.1f} s; draining with the bare subscriber...")
    bare_s, bare_count = drain_bare(port, bare_id, topic, messages)
    console.print(f"[{name}] bare: {bare_count:,} in {bare_s:.1f} s; draining into the lake...")
    ours = drain_urbanpulse(lake, port, ours_id, topic, messages, batch)
    rows, keys = count_lake(lake)
    expected = messages * obs
    return {
        "mode": name,
        "messages": messages,
        "observations": expected,
        "publish_msgs_per_s": round(messages / publish_s),
        "baseline_msgs_per_s": round(bare_count / bare_s) if bare_s else None,
        "baseline_received": bare_count,
        "msgs_per_s": round(ours.messages / ours.seconds),
        "obs_per_s": round(ours.observations / ours.seconds),
        "ratio": round((ours.messages / ours.seconds) / (bare_count / bare_s), 3),
        "seconds": round(ours.seconds, 2),
        "lost": expected - keys,
        "duplicated": rows - keys,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=1_000_000, help="single-observation messages"
    )
    parser.add_argument(
        "--batch-messages", type=int, default=20_000, help="batch messages (0: skip that mode)"
    )
    parser.add_argument("--batch-obs", type=int, default=100, help="observations per batch message")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--batch-size", type=int, default=10_000, help="messages per lake commit")
    args = parser.parse_args()
    if shutil.which("mosquitto") is None:
        console.print("mosquitto is not installed (apt-get install mosquitto)")
        return 2
    with tempfile.TemporaryDirectory(prefix="urbanpulse-bench-stream-") as tmp:
        workdir = Path(tmp)
        (workdir / "broker").mkdir()
        broker, port = start_broker(workdir / "broker")
        try:
            results = []
            if args.messages:
                results.append(
                    run_mode(
                        port, workdir, "single", args.messages, 1, args.publishers, args.batch_size
                    )
                )
            if args.batch_messages:
                results.append(
                    run_mode(
                        port, workdir, "batch", args.batch_messages, args.batch_obs,
                        args.publishers, max(1, args.batch_size // args.batch_obs * 10),
                    )
                )  # fmt: skip
        finally:
            broker.terminate()
            broker.wait()
    _print_table(results)
    print(json.dumps(_summary(results)))
    return 0


def _print_table(results: list[dict[str, Any]]) -> None:
    table = Table(title="MQTT into the lake vs a bare counting subscriber (same broker, same run)")
    for column in ("mode", "messages", "obs", "publish msg/s", "bare msg/s", "UrbanPulse msg/s",
                   "obs/s", "ratio", "lost", "duplicated"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r["mode"], f"{r['messages']:,}", f"{r['observations']:,}",
            f"{r['publish_msgs_per_s']:,}", f"{r['baseline_msgs_per_s']:,}",
            f"{r['msgs_per_s']:,}", f"{r['obs_per_s']:,}", f"{r['ratio']:.2f}",
            str(r["lost"]), str(r["duplicated"]),
        )  # fmt: skip
    console.print(table)


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    by_mode = {r["mode"]: r for r in results}
    single, batch = by_mode.get("single"), by_mode.get("batch")
    summary: dict[str, Any] = {}
    if single:
        summary.update(
            {k: single[k] for k in ("messages", "msgs_per_s", "baseline_msgs_per_s", "ratio")}
        )
        summary["target_msgs_per_s"] = TARGET_MSGS
    if batch:
        summary["obs_per_s"] = batch["obs_per_s"]
        summary["batch_msgs_per_s"] = batch["msgs_per_s"]
        summary["batch_baseline_msgs_per_s"] = batch["baseline_msgs_per_s"]
        summary["batch_ratio"] = batch["ratio"]
        summary["target_obs_per_s"] = TARGET_OBS
    summary["lost"] = sum(r["lost"] for r in results)
    summary["duplicated"] = sum(r["duplicated"] for r in results)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
