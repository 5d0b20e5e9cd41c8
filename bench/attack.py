"""Attack benchmark, run by hand: ``.venv/bin/python bench/attack.py --help``.

Serves a two-week demo lake with ``urbanpulse serve`` (the product's own server options:
head timeout, connection bound, redacted access log) on a free 127.0.0.1 port, then
attacks it from this machine only, each part bounded in time:

1. **Auth matrix**: every route of ``access/matrix.toml`` called by every kind of caller
   (anonymous, business, government, admin, a revoked key, a forged key, a JWT without
   an identity provider); a bypass is a refused caller answered below 400.
2. **Data behind the routes**: the raw readings government sees, compared value by value
   with what the public site page, the public profile and the business dataset export
   give out (target: no raw point, no cell below the policy's minimum count).
3. **Half-open flood**: ``--half-open`` connections (20,000) opened and left silent from
   two child processes, while /api/health is probed every 0.1 s (target: every probe
   answered).
4. **Heavy load**: ``--connections`` (100) closed-loop clients on the heaviest routes
   (advice with a change, a one-day export, a site's week, a profile) for ``--seconds``
   (30) with a health probe beside them (target: 0 5xx, every route completes requests,
   health p99 < 100 ms).
5. **Audit tamper**: after the server stops, copies of its access store are cut, edited,
   re-hashed and appended to as someone holding the store but not the seal's folder
   would (target: every case detected by ``verify_audit``).

The baseline, measured in the same run: /api/health's latency on the quiet server.
Rate limits are off in the served app (the load comes from one address); the limiter
still runs on every request. Prints a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from serving import get_free_port, wait_until_healthy
from urbanpulse.access import AuditEvent, issue_key, read_matrix, verify_audit
from urbanpulse.access.keys import revoke_key
from urbanpulse.access.matrix import SCOPES, get_data_policy, is_allowed
from urbanpulse.access.records import compute_entry_hash
from urbanpulse.access.service import build_access_store
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built

TARGET_HEALTH_P99_MS = 100.0
FORGED_KEY = "up_0badc0ffee00_" + "x" * 43
FOREIGN_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, help="Demo lake to serve (default: built here).")
    parser.add_argument("--half-open", type=int, default=20_000, help="Silent connections.")
    parser.add_argument("--flood-seconds", type=float, default=20.0, help="Flood duration.")
    parser.add_argument("--connections", type=int, default=100, help="Heavy-load clients.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Heavy-load duration.")
    return parser.parse_args()


# -- the served app -------------------------------------------------------------------


def start_server(lake: Lake, access_db: Path, seal: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = get_free_port()
    env = {
        **os.environ,
        "URBANPULSE_LAKE_PATH": str(lake.root),
        "URBANPULSE_ACCESS_DB": str(access_db),
        "URBANPULSE_AUDIT_SEAL_DIR": str(seal),
        "URBANPULSE_RATE_LIMIT_PER_MINUTE": "{}",
        "URBANPULSE_QUOTA_PER_DAY": "{}",
    }
    command = [str(Path(sys.executable).parent / "urbanpulse"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(server, base, 60)
    return server, base


def issue_callers(settings: Settings) -> tuple[dict[str, str | None], str]:
    """A token per kind of caller, and the id of a sacrificial admin key that the
    admin's own calls of rotate and revoke may change."""
    store = build_access_store(settings)
    tokens: dict[str, str | None] = {"anonymous": None}
    for scope in ("business", "government", "admin"):
        tokens[scope] = issue_key(store, scope=scope, name=f"bench {scope}")[1]
    revoked, revoked_token = issue_key(store, scope="admin", name="bench revoked admin")
    revoke_key(store, revoked.key_id)
    tokens["revoked admin key"] = revoked_token
    tokens["forged key"] = FORGED_KEY
    tokens["JWT, no provider"] = FOREIGN_JWT
    victim, _ = issue_key(store, scope="business", name="bench victim")
    return tokens, victim.key_id


def headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def effective_scope(caller: str) -> str:
    return caller if caller in SCOPES else "public"


# -- 1. the auth matrix ---------------------------------------------------------------


def find_samples(client: httpx.Client, victim: str) -> dict[str, str]:
    """A real value for every path parameter of the matrix, read from the app itself."""
    sites = client.get("/api/sites").json()["items"]
    site = next(s for s in sites if s["attributes"].get("pollutants"))
    datasets = [d["dataset_id"] for d in client.get("/api/catalog").json()["items"]]
    metric = site["attributes"]["pollutants"][0]
    home = client.get("/").text
    static = re.search(r"/static/v/([0-9a-f]+)/([\w.\-]+)", home)
    vendor = re.search(r"/static/v/([0-9a-f]+)/vendor/([\w.\-]+)", home)
    entity_type = client.get("/ngsi-ld/v1/types").json()["typeList"][0]
    entities = client.get("/ngsi-ld/v1/entities", params={"type": entity_type}).json()
    attributes = client.get("/ngsi-ld/v1/attributes").json()["attributeList"]
    return {
        "site_id": site["site_id"],
        "metric": metric,
        # The route walk reads a business dataset (its route is open to business); the
        # data step asks for the raw observations dataset, which the data policy closes.
        "dataset_id": "sites" if "sites" in datasets else datasets[0],
        "observations_dataset": f"observations-{metric}",
        "aggregate_id": "od",  # smart-card aggregates: none in the demo (404 for all)
        "digest": static.group(1) if static else "0",
        "name": static.group(2) if static else "style.css",
        "vendor_digest": vendor.group(1) if vendor else "0",
        "vendor_name": vendor.group(2) if vendor else "x.js",
        "entityType": entity_type,
        "entityId": entities[0]["id"],
        "attrId": attributes[0],
        "key_id": victim,
    }


def fill_path(route: str, samples: dict[str, str]) -> str:
    path = route.split(" ", 1)[1]
    if "/vendor/{name}" in path:
        path = path.replace("{digest}", samples["vendor_digest"]).replace(
            "{name}", samples["vendor_name"]
        )
    if path.startswith("/api/aggregates/"):
        path = path.replace("{dataset_id}", samples["aggregate_id"])
    return re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)


def walk_matrix(
    base: str, tokens: dict[str, str | None], samples: dict[str, str]
) -> dict[str, Any]:
    """Every route x every caller: bypasses (refused callers answered below 400) and
    wrongful refusals (allowed callers answered 401 or 403)."""
    matrix = read_matrix()
    day = datetime.now().date() - timedelta(days=3)
    query = {
        "metric": samples["metric"], "type": samples["entityType"], "line_id": "bj-m1",
        "start": f"{day}T00:00:00", "end": f"{day + timedelta(days=1)}T00:00:00",
    }  # fmt: skip
    bypasses, wrongly_refused, calls, statuses = [], [], 0, Counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for route in sorted(matrix):
            method, _ = route.split(" ", 1)
            path = fill_path(route, samples)
            if route.endswith("/api/live/stream"):
                continue  # an endless event stream: checked for its status below
            for caller, token in tokens.items():
                if caller == "admin" and method == "POST" and "/keys" in path:
                    continue  # would really rotate or revoke; refused callers still try
                response = client.request(
                    method, path, params=query if method == "GET" else None,
                    json={} if method == "POST" else None, headers=headers(token),
                    follow_redirects=False,
                )  # fmt: skip
                calls += 1
                statuses[response.status_code // 100] += 1
                allowed = is_allowed(matrix, route, effective_scope(caller))
                if not allowed and response.status_code < 400:
                    bypasses.append(f"{caller}: {route} -> {response.status_code}")
                valid = caller in SCOPES or caller == "anonymous"  # the others must be 401
                if valid and allowed and response.status_code in (401, 403):
                    wrongly_refused.append(f"{caller}: {route} -> {response.status_code}")
        for caller, token in tokens.items():  # the live stream: only its opening status
            with client.stream("GET", "/api/live/stream", headers=headers(token)) as answer:
                calls += 1
                if answer.status_code >= 400 and caller in ("anonymous",):
                    wrongly_refused.append(f"{caller}: /api/live/stream -> {answer.status_code}")
    return {
        "routes": len(matrix), "callers": len(tokens), "calls": calls,
        "bypasses": len(bypasses), "wrongly_refused": len(wrongly_refused),
        "examples": (bypasses + wrongly_refused)[:5], "status_classes": dict(statuses),
    }  # fmt: skip


# -- 2. the data behind the routes ----------------------------------------------------


def compare_data(
    base: str, tokens: dict[str, str | None], samples: dict[str, str]
) -> dict[str, Any]:
    """Raw readings (as government reads them) against what lower scopes get."""
    policy = get_data_policy("observations")
    site, metric = samples["site_id"], samples["metric"]
    with httpx.Client(base_url=base, timeout=120) as client:
        government = headers(tokens["government"])
        raw = client.get(
            f"/api/sites/{site}/observations", params={"metric": metric, "limit": 10_000},
            headers=government,
        ).json()["items"]  # fmt: skip
        raw_values = {round(float(r["value"]), 9) for r in raw}
        last = max(r["ts"] for r in raw)[:10]
        one_day = {"start": f"{last}T00:00:00", "end": f"{last}T23:59:59"}
        leaks: dict[str, int] = {}
        for caller in ("anonymous", "business"):
            page = client.get(
                f"/sites/{site}",
                params={"metric": metric, "period": 5},
                headers=headers(tokens[caller]),
            ).text
            shown = figure_numbers(page, "recent-chart")
            leaks[f"{caller}: site page raw points"] = len(shown & raw_values)
            profile = client.get(
                f"/api/sites/{site}/profile", params={"metric": metric, "period": 5, **one_day},
                headers=headers(tokens[caller]),
            ).json()  # fmt: skip
            small = [c for c in profile.get("items", []) if c["n"] < policy.min_count]
            leaks[f"{caller}: profile cells below {policy.min_count}"] = len(small)
            rows = client.get(
                f"/api/datasets/{samples['observations_dataset']}", params={"limit": 1000, **one_day},
                headers=headers(tokens[caller]),
            )  # fmt: skip
            leaks[f"{caller}: raw dataset rows"] = (
                len(rows.json().get("items", [])) if rows.status_code == 200 else 0
            )
    return {"raw_values": len(raw_values), "leaks": leaks, "leaked": sum(leaks.values()),
            "last_day": last}  # fmt: skip


def figure_numbers(html: str, chart: str) -> set[float]:
    found = re.search(
        rf'<script type="application/json" data-figure-for="{chart}">(.*?)</script>', html, re.S
    )
    if not found:
        return set()
    figure = json.loads(found.group(1).replace("<\\/", "</"))
    return {round(float(v), 9) for t in figure["data"] for v in t.get("y", []) if v is not None}


# -- 3. half-open flood ---------------------------------------------------------------


def hold_silent(host: str, port: int, count: int, seconds: float, opened: Any) -> None:
    """Open ``count`` connections, send nothing, hold them for ``seconds``."""
    sockets = []
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            sock = socket.create_connection((host, port), timeout=5)
        except OSError:
            continue
        sockets.append(sock)
    opened.put(len(sockets))
    time.sleep(max(0.0, deadline - time.monotonic()))
    for sock in sockets:
        sock.close()


def probe_health(base: str, seconds: float, every: float = 0.1) -> dict[str, Any]:
    """Probe /api/health on a fresh connection every ``every`` s for ``seconds`` (a raw
    socket: a client library's own set-up would be timed too)."""
    host, port = base.removeprefix("http://").split(":")
    request = b"GET /api/health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    latencies, failures = [], Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            with socket.create_connection((host, int(port)), timeout=15) as sock:
                sock.sendall(request)
                head = sock.recv(64)
                while sock.recv(65536):
                    pass
            if not head.startswith(b"HTTP/1.1 200"):
                failures[head[9:12].decode(errors="replace") or "closed"] += 1
        except OSError as exc:
            failures[type(exc).__name__] += 1
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, every - (time.perf_counter() - started)))
    return summarise(latencies) | {"probes": len(latencies), "failed": sum(failures.values()),
                                   "failures": dict(failures)}  # fmt: skip


def flood(base: str, count: int, seconds: float) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    opened: Any = multiprocessing.Queue()
    # Two processes: one process may hold only as many sockets as its descriptor limit.
    workers = [
        multiprocessing.Process(
            target=hold_silent, args=(host, int(port), count // 2, seconds, opened)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    health = probe_health(base, seconds - 1.0)
    total = sum(opened.get(timeout=seconds + 30) for _ in workers)
    for worker in workers:
        worker.join(timeout=seconds + 30)
    return {"connections_opened": total, **health}


# -- 4. heavy load --------------------------------------------------------------------


def heavy_requests(samples: dict[str, str], day: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    site, metric = samples["site_id"], samples["metric"]
    start, end = f"{day}T00:00:00", f"{day}T23:59:59"
    tomorrow = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    return {
        "advice with a change": ("POST", "/api/advice", {"json": {
            "origin": "bj-m2-s01", "destination": "bj-m1-s20", "start": f"{tomorrow}T07:00",
            "end": f"{tomorrow}T09:30", "preferred": f"{tomorrow}T08:00"}}),
        "one-day export": ("GET", f"/api/datasets/{samples['observations_dataset']}/export",
                           {"params": {"start": start, "end": end, "format": "csv"}}),
        "site week (raw)": ("GET", f"/api/sites/{site}/observations",
                            {"params": {"metric": metric, "limit": 5000}}),
        "profile": ("GET", f"/api/sites/{site}/profile", {"params": {"metric": metric, "period": 15}}),
    }  # fmt: skip


async def heavy_load(base: str, token: str, samples: dict[str, str], day: str,
                     connections: int, seconds: float) -> dict[str, Any]:  # fmt: skip
    requests = heavy_requests(samples, day)
    names = list(requests)
    done: dict[str, list[float]] = {name: [] for name in names}
    statuses: dict[str, Counter[str]] = {name: Counter() for name in names}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits,
                                 headers=headers(token)) as client:  # fmt: skip

        async def worker(k: int) -> None:
            name = names[k % len(names)]
            method, path, options = requests[name]
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    answer = await client.request(method, path, **options)
                    statuses[name][str(answer.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[name][type(exc).__name__] += 1
                done[name].append((time.perf_counter() - started) * 1000)

        async def health() -> dict[str, Any]:
            return await asyncio.to_thread(probe_health, base, seconds)

        results = await asyncio.gather(health(), *(worker(k) for k in range(connections)))
    routes = {
        name: {"completed": statuses[name].get("200", 0), "statuses": dict(statuses[name]),
               **summarise(done[name])}
        for name in names
    }  # fmt: skip
    errors = sum(
        n for s in statuses.values() for code, n in s.items() if not code.startswith(("2", "4"))
    )
    return {"health": results[0], "routes": routes, "server_errors": errors}


# -- 5. audit tamper ------------------------------------------------------------------


def tamper_cases(access_db: Path, seal: Path, scratch: Path) -> dict[str, bool]:
    """Each attack on a fresh copy of the store (the seal folder untouched): detected?"""

    def cut(conn: sqlite3.Connection, n: int) -> None:
        conn.execute("DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) FROM audit_log) - ?", (n,))

    def edit(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE audit_log SET status = 200 WHERE seq = (SELECT MIN(seq) + 5 FROM audit_log)"
        )

    def edit_and_rehash(conn: sqlite3.Connection) -> None:
        edit(conn)
        first = conn.execute("SELECT MIN(seq) + 5 FROM audit_log").fetchone()[0]
        rehash_from(conn, first)

    def forge_append(conn: sqlite3.Connection) -> None:
        seq, prev = conn.execute(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        event = AuditEvent(
            datetime.now().astimezone(), "key:forged", "admin", "GET", "/api/keys", 200
        )
        digest = compute_entry_hash(prev, seq + 1, event)
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, scope, method, path, status, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq + 1, event.at.isoformat(), event.actor, event.scope, event.method, event.path,
             event.status, event.detail, prev, digest),
        )  # fmt: skip

    cases = {
        "cut the last 1": lambda c: cut(c, 1),
        "cut the last 10": lambda c: cut(c, 10),
        "cut the last 100": lambda c: cut(c, 100),
        "edit one entry": edit,
        "edit and re-hash the rest": edit_and_rehash,
        "forge an append": forge_append,
    }
    detected = {}
    for name, attack in cases.items():
        folder = scratch / f"tamper-{len(detected)}"
        shutil.copytree(access_db.parent, folder / "store")
        shutil.copytree(seal, folder / "seal")
        copy = folder / "store" / access_db.name
        with sqlite3.connect(copy, isolation_level=None) as conn:
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            attack(conn)
        settings = Settings(
            access_db=copy, audit_seal_dir=folder / "seal", lake_path=folder / "lake"
        )
        detected[name] = not verify_audit(build_access_store(settings)).ok
    return detected


def rehash_from(conn: sqlite3.Connection, seq: int) -> None:
    """Recompute a plain SHA-256 chain from ``seq`` on (what an attacker without the
    seal's key can do)."""
    rows = conn.execute(
        "SELECT seq, at, actor, scope, method, path, status, detail FROM audit_log "
        "WHERE seq >= ? ORDER BY seq", (seq,),
    ).fetchall()  # fmt: skip
    prev = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq - 1,)).fetchone()[0]
    for number, at, actor, scope, method, path, status, detail in rows:
        event = AuditEvent(datetime.fromisoformat(at), actor, scope, method, path, status, detail)
        digest = compute_entry_hash(prev, number, event)
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, number)
        )
        prev = digest


# -- the run --------------------------------------------------------------------------


def summarise(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    values = np.asarray(latencies)
    return {"p50_ms": round(float(np.percentile(values, 50)), 1),
            "p99_ms": round(float(np.percentile(values, 99)), 1)}  # fmt: skip


def main() -> None:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="urbanpulse-attack-"))
    try:
        lake = Lake(args.lake) if args.lake else Lake(scratch / "lake")
        if not is_demo_built(lake):
            print("building a 2-week demo lake...", file=sys.stderr)
            build_demo(lake, weeks=2, drop_dir=scratch / "drop")
        access_db, seal = scratch / "access" / "access.sqlite3", scratch / "audit-seal"
        access_db.parent.mkdir()
        settings = Settings(lake_path=lake.root, access_db=access_db, audit_seal_dir=seal)
        tokens, victim = issue_callers(settings)
        server, base = start_server(lake, access_db, seal)
        try:
            report = run_attacks(base, tokens, victim, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
        report["audit"] = tamper_cases(access_db, seal, scratch)
        print_report(report, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_attacks(base: str, tokens: dict[str, str | None], victim: str,
                args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    with httpx.Client(base_url=base, timeout=60) as client:
        samples = find_samples(client, victim)
    print("baseline: quiet health probes...", file=sys.stderr)
    quiet = probe_health(base, 5.0)
    print("auth matrix...", file=sys.stderr)
    matrix = walk_matrix(base, tokens, samples)
    print("data behind the routes...", file=sys.stderr)
    data = compare_data(base, tokens, samples)
    print(f"{args.half_open:,} half-open connections...", file=sys.stderr)
    flooded = flood(base, args.half_open, args.flood_seconds)
    day = data["last_day"]  # the lake's newest day: its 'now' for advice is the next
    print(
        f"{args.connections} clients on heavy routes for {args.seconds:.0f} s...", file=sys.stderr
    )
    load = asyncio.run(
        heavy_load(base, str(tokens["admin"]), samples, day, args.connections, args.seconds)
    )
    return {
        "baseline_health": quiet,
        "matrix": matrix,
        "data": data,
        "flood": flooded,
        "load": load,
    }


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    quiet, matrix, data = report["baseline_health"], report["matrix"], report["data"]
    flooded, load, audit = report["flood"], report["load"], report["audit"]
    rows = [
        ("baseline: health, quiet", f"p50 {quiet['p50_ms']} ms, p99 {quiet['p99_ms']} ms", "-"),
        ("auth matrix", f"{matrix['calls']} calls, {matrix['routes']} routes x {matrix['callers']} callers: "
         f"{matrix['bypasses']} bypasses, {matrix['wrongly_refused']} wrongly refused", "0 bypasses"),
        ("data behind routes", f"{data['leaked']} raw values shown of {data['raw_values']} distinct", "0"),
        ("half-open flood", f"{flooded['connections_opened']:,} opened; health {flooded['probes'] - flooded['failed']}"
         f"/{flooded['probes']} answered, p99 {flooded['p99_ms']} ms", "every probe"),
        ("heavy load: health", f"{load['health']['probes'] - load['health']['failed']}/{load['health']['probes']} "
         f"answered, p99 {load['health']['p99_ms']} ms ({load['health']['p99_ms'] / max(quiet['p99_ms'], 0.1):.1f}x quiet)",
         f"p99 < {TARGET_HEALTH_P99_MS:.0f} ms"),
        *[(f"heavy load: {name}", f"{r['completed']} completed, p50 {r['p50_ms']} ms, {r['statuses']}", "> 0")
          for name, r in load["routes"].items()],
        ("heavy load: 5xx", str(load["server_errors"]), "0"),
        *[(f"audit: {name}", "detected" if hit else "MISSED", "detected") for name, hit in audit.items()],
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure}  [target: {target}]")
    for example in matrix["examples"]:
        print(f"  matrix: {example}")
    for where, count in data["leaks"].items():
        print(f"  data: {where}: {count}")
    figures = {
        "bypasses": matrix["bypasses"],
        "wrongly_refused": matrix["wrongly_refused"],
        "data_leaked": data["leaked"],
        "half_open": flooded["connections_opened"],
        "flood_health_answered": flooded["probes"] - flooded["failed"],
        "flood_health_probes": flooded["probes"],
        "load_health_p99_ms": load["health"]["p99_ms"],
        "load_health_failed": load["health"]["failed"],
        "load_server_errors": load["server_errors"],
        "load_completed": {name: r["completed"] for name, r in load["routes"].items()},
        "audit_detected": sum(audit.values()),
        "audit_cases": len(audit),
    }
    targets = {
        "bypasses": 0, "data_leaked": 0, "flood_health_failed": 0, "load_server_errors": 0,
        "load_health_p99_ms": TARGET_HEALTH_P99_MS, "audit_missed": 0, "every_route_completes": True,
    }  # fmt: skip
    met = (
        matrix["bypasses"] == 0 and data["leaked"] == 0 and flooded["failed"] == 0
        and load["server_errors"] == 0 and load["health"]["p99_ms"] < TARGET_HEALTH_P99_MS
        and all(r["completed"] > 0 for r in load["routes"].values()) and all(audit.values())
    )  # fmt: skip
    baseline = {"quiet_health_p50_ms": quiet["p50_ms"], "quiet_health_p99_ms": quiet["p99_ms"]}
    print(json.dumps({"bench": "attack", "figures": figures, "baseline": baseline,
                      "targets": targets, "met": met, "settings": vars(args) | {"lake": str(args.lake)}}))  # fmt: skip


if __name__ == "__main__":
    main()
