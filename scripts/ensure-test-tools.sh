#!/usr/bin/env bash
# Make sure what the test suite drives from outside Python is present:
#  - Debian's Chromium for the browser tests (Playwright's own browser download does
#    not work offline), installed with apt when we may;
#  - the local servers that integration tests talk to (Redis; PostgreSQL for the access
#    store, database 'test' on 127.0.0.1:5432), started if installed but not running.
# Without them the matching tests skip with a reason, except under CI where they fail.
set -u

have_root() { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && have_root; then
    echo "installing Debian's chromium for the browser tests..."
    as_root apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null \
      || echo "could not install chromium: browser tests will skip"
  else
    echo "no /usr/bin/chromium and no apt: browser tests will skip"
  fi
fi

# A font with Chinese glyphs, so screenshots kept as test artifacts show place names
# instead of empty boxes (the pages themselves are fine without it).
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  if command -v apt-get >/dev/null 2>&1 && have_root; then
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 \
      || echo "could not install a Chinese font: screenshots will show boxes for Chinese names"
  fi
fi

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting redis-server on 127.0.0.1:6379..."
    mkdir -p /tmp/urbanpulse-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/urbanpulse-redis --logfile /tmp/urbanpulse-redis/redis.log >/dev/null
  fi
fi
# PostgreSQL: start the installed clusters (Debian's pg_ctlcluster) when none answers,
# then make sure the 'test' database exists.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_lsclusters >/dev/null 2>&1 && have_root; then
    echo "starting PostgreSQL..."
    pg_lsclusters -h 2>/dev/null | while read -r version cluster _rest; do
      as_root pg_ctlcluster "$version" "$cluster" start >/dev/null 2>&1 \
        || echo "could not start PostgreSQL cluster $version/$cluster"
    done
    for _ in $(seq 1 20); do
      pg_isready -h 127.0.0.1 -p 5432 -q && break
      sleep 0.5
    done
  fi
fi
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q; then
  if ! psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT 1" >/dev/null 2>&1; then
    createdb -h 127.0.0.1 -U postgres test >/dev/null 2>&1 \
      || (cd / && as_root su postgres -c "createdb test" >/dev/null 2>&1) \
      || echo "could not create the PostgreSQL database 'test': PostgreSQL tests will skip"
  fi
else
  echo "no PostgreSQL on 127.0.0.1:5432: PostgreSQL tests will skip"
fi
# Mosquitto with the product's settings (src/urbanpulse/stream/mosquitto.conf) on
# 127.0.0.1:1884, beside any system broker on 1883 (Debian's defaults drop queued
# messages): the stream tests and bench/stream.py use it.
MQTT_TEST_PORT="${URBANPULSE_TEST_MQTT_PORT:-1884}"
if command -v mosquitto >/dev/null 2>&1; then
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_TEST_PORT") 2>/dev/null; then
    echo "starting mosquitto (product settings) on 127.0.0.1:$MQTT_TEST_PORT..."
    dir=/tmp/urbanpulse-mosquitto
    mkdir -p "$dir"
    sed -e "s/^listener 1883 /listener $MQTT_TEST_PORT /" -e "s#^persistence_location .*#persistence_location $dir/#" \
      "$(dirname "$0")/../src/urbanpulse/stream/mosquitto.conf" > "$dir/mosquitto.conf"
    # Started as root, mosquitto switches to user 'mosquitto', who must be able to save here.
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown mosquitto "$dir"; fi
    mosquitto -d -c "$dir/mosquitto.conf" || echo "could not start mosquitto: MQTT tests will skip"
  fi
else
  echo "no mosquitto: MQTT tests will skip (apt-get install mosquitto)"
fi
# Third-party clients the tests drive, in an environment of their own: ngsildclient pins
# httpx, rich and networkx versions older than the product's.
CLIENTS="$(dirname "$0")/../var/clients"
if [ ! -x "$CLIENTS/bin/python" ] || ! "$CLIENTS/bin/python" -c "import ngsildclient" 2>/dev/null; then
  echo "installing ngsildclient for the NGSI-LD client test in var/clients..."
  python3 -m venv "$CLIENTS" && "$CLIENTS/bin/pip" install --quiet ngsildclient==0.5.2 >/dev/null 2>&1 \
    || echo "could not install ngsildclient: its test will skip"
fi
# axe-core from the npm registry, for the pages' accessibility checks in Chromium.
TOOLS="$(dirname "$0")/../var/tools"
if [ ! -f "$TOOLS/node_modules/axe-core/axe.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing axe-core for the accessibility checks in var/tools..."
    mkdir -p "$TOOLS" && npm install --prefix "$TOOLS" --silent --no-audit --no-fund axe-core@4.14.1 >/dev/null 2>&1 \
      || echo "could not install axe-core: the page tests will skip"
  else
    echo "no npm: the page tests that run axe-core will skip"
  fi
fi
exit 0
