"""Spark clusters for the engine suite, started from the pyspark package itself (no
Spark download): a standalone master with one worker, and a Spark Connect server.

Each starts once per test session, on free ports, when a test first asks for it, and
is stopped (its whole process group) at the end. Without pyspark or a Java runtime the
tests that need one skip with the reason, except under CI, where a skip fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import get_free_port, is_listening

START_SECONDS = 180  # a JVM on two busy cores


def get_spark_home() -> Path:
    """The Spark distribution inside the pyspark package (skips without it or Java)."""
    try:
        import pyspark
    except ImportError:
        pytest.skip('pyspark not installed: pip install "urbanpulse[spark]"')
    from urbanpulse.store.spark_engine import has_java

    if not has_java():
        pytest.skip("no Java runtime (17 or later) on PATH or JAVA_HOME for Spark")
    return Path(pyspark.__file__).parent


class SparkProcess:
    """One JVM of a Spark cluster, its output in ``log``, in a process group of its own."""

    def __init__(self, command: list[str], log: Path, home: Path) -> None:
        self.log = log
        env = {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_NO_DAEMONIZE": "1",
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def wait_for(self, ready: object, what: str) -> None:
        """Wait until ``ready()`` is true; fail with the log's end if the JVM dies or
        takes longer than START_SECONDS."""
        deadline = time.monotonic() + START_SECONDS
        while not ready():  # type: ignore[operator]
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                self.stop()
                pytest.fail(f"{what} did not start:\n{tail}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def _count_alive_workers(ui_port: int) -> int:
    try:
        status = httpx.get(f"http://127.0.0.1:{ui_port}/json/", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return 0
    return int(status.get("aliveworkers", 0))


@pytest.fixture(scope="session")
def spark_master_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:<port>`` of a standalone master with one worker (2 cores)."""
    home = get_spark_home()
    folder = tmp_path_factory.mktemp("spark-standalone")
    spark_class = str(home / "bin" / "spark-class")
    port, ui_port = get_free_port(), get_free_port()
    master = SparkProcess(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui_port)],
        folder / "master.log", home,
    )  # fmt: skip
    url = f"spark://127.0.0.1:{port}"
    master.wait_for(lambda: is_listening(port), "the Spark master")
    worker = SparkProcess(
        [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
         "--cores", "2", "--memory", "2g", "--webui-port", str(get_free_port()),
         "--work-dir", str(folder / "work"), url],
        folder / "worker.log", home,
    )  # fmt: skip
    try:
        worker.wait_for(lambda: _count_alive_workers(ui_port) >= 1, "the Spark worker")
        yield url
    finally:
        worker.stop()
        master.stop()


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sc://127.0.0.1:<port>`` of a Spark Connect server (local[2] behind it)."""
    home = get_spark_home()
    if shutil.which("bash") is None:
        pytest.skip("spark-submit needs bash")
    port = get_free_port()
    server = SparkProcess(
        [str(home / "bin" / "spark-submit"),
         "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.session.timeZone=UTC"],
        tmp_path_factory.mktemp("spark-connect") / "server.log", home,
    )  # fmt: skip
    try:
        server.wait_for(lambda: is_listening(port), "the Spark Connect server")
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.stop()
