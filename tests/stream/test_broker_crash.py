"""A broker crash loses nothing it acknowledged: messages queued for UrbanPulse's
subscriber survive a SIGKILL of RabbitMQ (with stream/rabbitmq.conf) and are all stored,
once each, when the subscriber drains them afterwards."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.stream.conftest import (
    OwnRabbit,
    assert_stored_once,
    build_flow_messages,
    count_stored,
    publish,
    start_subscriber,
    wait_for,
)

from urbanpulse.store import Lake


def test_a_broker_sigkill_with_a_queue_loses_no_acknowledged_message(
    own_rabbit: OwnRabbit,
    topic_prefix: str,
    tmp_path: Path,
    subscribers: list[subprocess.Popen[bytes]],
) -> None:
    lake = Lake(tmp_path / "lake")
    log = tmp_path / "subscriber.log"
    n = 5000
    messages = build_flow_messages(topic_prefix, n, sites=5)
    # The subscriber's persistent session exists, then it stops: what follows is queued.
    subscribers.append(start_subscriber(lake, own_rabbit.port, topic_prefix, log))
    wait_for(lambda: b'"subscribed"' in log.read_bytes(), 60)
    subscribers[0].send_signal(signal.SIGTERM)
    assert subscribers[0].wait(30) == 0
    publish(own_rabbit.port, messages)  # returns once every message is acknowledged
    own_rabbit.kill()  # at once: no timer or shutdown had a chance to save anything
    own_rabbit.start()
    subscribers.append(start_subscriber(lake, own_rabbit.port, topic_prefix, log))
    wait_for(lambda: lake.version > 0 and count_stored(lake) >= n, 120)
    subscribers[1].send_signal(signal.SIGTERM)
    assert subscribers[1].wait(30) == 0
    assert_stored_once(lake, n)
