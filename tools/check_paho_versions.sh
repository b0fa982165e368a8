#!/usr/bin/env bash
# Run the live bridge's MQTT client tests against every paho-mqtt release the fast path is
# declared tested with (safetwin/live_bridge/fastclient.py: TESTED_PAHO_VERSIONS). Each release is
# installed with pip into its own folder under var/paho-versions/ and put first on PYTHONPATH.
# Needs the broker of the test suite (tools/ensure_services.sh). Usage: tools/check_paho_versions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
versions=$($PY -c "from safetwin.live_bridge.fastclient import TESTED_PAHO_VERSIONS as v; print(' '.join(sorted(v)))")
tests="tests/live_bridge/test_ingest_log.py tests/live_bridge/test_burst.py tests/live_bridge/test_fast_path.py tests/live_bridge/test_integration.py"
status=0
for v in $versions; do
    target=var/paho-versions/$v
    [ -d "$target/paho" ] || $PY -m pip install -q --no-deps --target "$target" "paho-mqtt==$v"
    got=$(PYTHONPATH="$target:$PWD" $PY -c "import paho.mqtt, safetwin.live_bridge.fastclient as f; print(paho.mqtt.__version__, f.FAST_PATH)")
    echo "paho-mqtt $v (loaded: $got)"
    if ! PYTHONPATH="$target:$PWD" $PY -m pytest -q -p no:cacheprovider $tests; then
        status=1
    fi
done
exit $status
