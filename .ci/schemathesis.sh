#!/usr/bin/env bash
# Fuzzes the REST mapping with schemathesis: starts `aftercare up` (debug build) on free ports
# with a fresh data folder, mints an admin token, and runs schemathesis against the gateway's
# /openapi.json with a bounded number of examples per operation, over the operations of the
# services that `aftercare services` lists (routes to services that do not run yet would only
# answer 503) except the server-streaming ones (documented as 501 over REST). Fails on any
# failed check: server errors, status code, content type, headers and response schema
# conformance, negative data accepted, undeclared methods, auth ignored. Always stops the
# platform it started.
#
# Every default check runs but `positive_data_acceptance`: the contracts' semantic rules
# (resource names, region codes, IANA zones, `HH:MM`, list bounds, rules across fields, filter
# grammar, opaque page tokens) are in their comments, not in anything a JSON schema can carry,
# so schema-valid data is refused by design. Schemathesis's "Schema validation mismatch"
# warning still names the operations that refused all of it.
#
# Environment: SCHEMATHESIS_VERSION (pinned below), API_FUZZ_BIN (target/debug/aftercare),
# API_FUZZ_MAX_EXAMPLES (10), API_FUZZ_MAX_SECONDS (240, schemathesis's own wall-clock bound;
# the whole script is also killed 30 s after it), API_FUZZ_SEED (16), API_FUZZ_REPORT_DIR
# (JUnit and NDJSON reports, and the platform's log), OPENAPI_SPEC_VALIDATOR_VERSION (0.9.0).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
MAX_EXAMPLES=${API_FUZZ_MAX_EXAMPLES:-10}
MAX_SECONDS=${API_FUZZ_MAX_SECONDS:-240}
BIN=${API_FUZZ_BIN:-${CARGO_TARGET_DIR:-target}/debug/aftercare}

log() { printf '==> api-fuzz: %s\n' "$*"; }

if ! command -v st >/dev/null || [[ "$(st --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [[ -z "${API_FUZZ_BIN:-}" && ! -x "$BIN" ]]; then
  log "building $BIN"
  cargo build -q --bin aftercare
fi

work=$(mktemp -d /tmp/aftercare-api-fuzz.XXXXXX)
platform_pid=""
cleanup() {
  if [[ -n "$platform_pid" ]] && kill -0 "$platform_pid" 2>/dev/null; then
    kill -TERM "$platform_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$platform_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$platform_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Seven free loopback ports: the gateway, five services, metrics.
read -r -a ports < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(7):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
export AFTERCARE_DATA_DIR="$work/data"
export AFTERCARE_GATEWAY__LISTEN="127.0.0.1:${ports[0]}"
export AFTERCARE_SERVICES__TICKETS__LISTEN="127.0.0.1:${ports[1]}"
export AFTERCARE_SERVICES__CUSTOMERS__LISTEN="127.0.0.1:${ports[2]}"
export AFTERCARE_SERVICES__WORKFORCE__LISTEN="127.0.0.1:${ports[3]}"
export AFTERCARE_SERVICES__FEEDBACK__LISTEN="127.0.0.1:${ports[4]}"
export AFTERCARE_SERVICES__KNOWLEDGE__LISTEN="127.0.0.1:${ports[5]}"
export AFTERCARE_TELEMETRY__METRICS_LISTEN="127.0.0.1:${ports[6]}"
# One principal makes every call: the rate limit must not be what is tested.
export AFTERCARE_GATEWAY__RATE_LIMIT_PER_SECOND=100000
export AFTERCARE_GATEWAY__RATE_LIMIT_BURST=100000
gateway="http://$AFTERCARE_GATEWAY__LISTEN"

log "starting aftercare up (gateway $gateway, data $AFTERCARE_DATA_DIR)"
"$BIN" up >"$work/platform.log" 2>&1 &
platform_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$gateway/openapi.json" 2>/dev/null; then break; fi
  if ! kill -0 "$platform_pid" 2>/dev/null; then
    cat "$work/platform.log" >&2
    echo "api-fuzz: aftercare up exited before the gateway answered" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS -o "$work/openapi.json" "$gateway/openapi.json"
# The served document is valid OpenAPI 3.0 before anything is generated from it.
python3 -c 'import openapi_spec_validator' 2>/dev/null ||
  python3 -m pip install -q "openapi-spec-validator==${OPENAPI_SPEC_VALIDATOR_VERSION:-0.9.0}"
python3 -m openapi_spec_validator "$work/openapi.json"

token=$("$BIN" token --role admin --subject agents/api-fuzz --ttl 1h)
# The token as the document's `bearer` scheme, so that schemathesis authenticates with it (and
# does not make up `x-api-key` values: this platform has no API keys file).
(umask 077; printf '[auth.openapi.bearer]\nbearer = "%s"\n' "$token" >"$work/schemathesis.toml")

# Only the operations of services this binary runs (tags are `aftercare.<service>.v1.<Api>`).
running=$("$BIN" services | grep -vx gateway | paste -sd'|' -)
log "services running: ${running//|/, }"
tag_regex="^aftercare\\.(${running})\\.v1\\."

# Streams are not carried over REST: the document says they answer 501, which is no test.
exclude=()
while read -r id; do
  [[ -n "$id" ]] && exclude+=(--exclude-operation-id "$id")
done < <(python3 -c '
import json, sys
document = json.load(open(sys.argv[1]))
for item in document["paths"].values():
    for operation in item.values():
        if operation.get("x-aftercare-streaming"):
            print(operation["operationId"])
' "$work/openapi.json")

report_dir=${API_FUZZ_REPORT_DIR:-$work/report}
mkdir -p "$report_dir"
log "schemathesis $SCHEMATHESIS_VERSION: at most $MAX_EXAMPLES examples per operation, ${MAX_SECONDS}s"
status=0
timeout --signal=INT --kill-after=20 "$((MAX_SECONDS + 30))" \
  st --config-file "$work/schemathesis.toml" run "$gateway/openapi.json" \
    --url "$gateway" \
    --include-tag-regex "$tag_regex" \
    "${exclude[@]}" \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_SECONDS" \
    --exclude-checks positive_data_acceptance \
    --request-timeout 10 \
    --workers 2 \
    --phases examples,fuzzing \
    --seed "${API_FUZZ_SEED:-16}" \
    --report junit,ndjson --report-dir "$report_dir" \
  || status=$?

cp "$work/platform.log" "$report_dir/platform.log"
if grep -qE 'panicked|INTERNAL' "$work/platform.log"; then
  log "the platform logged panics or INTERNAL errors:"
  grep -E 'panicked|INTERNAL' "$work/platform.log" | head -20 >&2
fi
if [[ $status -ne 0 ]]; then
  log "schemathesis failed (exit $status)"
  exit "$status"
fi
log "passed"
