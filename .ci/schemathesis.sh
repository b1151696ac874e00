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
# Every default check runs but `positive_data_acceptance`: the document carries the rules a
# JSON schema can say (the contracts' `aftercare.api.v1.field_rules`: lengths, patterns,
# bounds), but not those it cannot (rules across fields, the AIP-160 filter grammar, opaque
# page tokens, a field mask naming fields the body must then give, resources that exist), so
# some schema-valid data is refused by design. Schemathesis's "Schema validation mismatch"
# warning still names the operations that refused all of it.
#
# Schemathesis runs in a virtual environment of its own, made once per version and Python
# (under API_FUZZ_VENV_DIR). The newest python3.13 / python3.12 on PATH is preferred: the
# coverage phase (deterministic boundary and negative values per keyword) needs it: under
# CPython 3.11.7 hypothesis fails there with "SystemError: AST constructor recursion depth
# mismatch" (a CPython bug; 3.13.0 runs it cleanly, 3.12 is untried); with a Python older
# than 3.12 the phase is left out.
#
# Environment: SCHEMATHESIS_VERSION (pinned below), API_FUZZ_BIN (target/debug/aftercare),
# API_FUZZ_PYTHON (the interpreter, chosen as above), API_FUZZ_VENV_DIR
# (~/.cache/aftercare-api-fuzz), API_FUZZ_PHASES (examples,coverage,fuzzing),
# API_FUZZ_MAX_EXAMPLES (10), API_FUZZ_MAX_SECONDS (300, schemathesis's own wall-clock bound;
# the whole script is also killed 30 s after it), API_FUZZ_SEED (16), API_FUZZ_REPORT_DIR
# (JUnit and NDJSON reports, and the platform's log), OPENAPI_SPEC_VALIDATOR_VERSION (0.9.0).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
MAX_EXAMPLES=${API_FUZZ_MAX_EXAMPLES:-10}
MAX_SECONDS=${API_FUZZ_MAX_SECONDS:-300}
BIN=${API_FUZZ_BIN:-${CARGO_TARGET_DIR:-target}/debug/aftercare}

log() { printf '==> api-fuzz: %s\n' "$*"; }

python=${API_FUZZ_PYTHON:-}
if [[ -z "$python" ]]; then
  # pyenv's shims answer only for the versions it has activated; its installs are tried too.
  for candidate in python3.13 python3.12 \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
    python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import venv' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
py_version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
if "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  PHASES=${API_FUZZ_PHASES:-examples,coverage,fuzzing}
else
  PHASES=${API_FUZZ_PHASES:-examples,fuzzing}
  log "python $py_version: the coverage phase is left out (it needs Python 3.12 or newer)"
fi
venv=${API_FUZZ_VENV_DIR:-$HOME/.cache/aftercare-api-fuzz}/schemathesis-$SCHEMATHESIS_VERSION-py$py_version
if [[ "$("$venv/bin/st" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION for python $py_version in $venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION" \
    "openapi-spec-validator==${OPENAPI_SPEC_VALIDATOR_VERSION:-0.9.0}"
fi
st=$venv/bin/st
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
"$venv/bin/python" -m openapi_spec_validator "$work/openapi.json"

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
log "schemathesis $SCHEMATHESIS_VERSION ($PHASES): at most $MAX_EXAMPLES examples per operation, ${MAX_SECONDS}s"
status=0
timeout --signal=INT --kill-after=20 "$((MAX_SECONDS + 30))" \
  "$st" --config-file "$work/schemathesis.toml" run "$gateway/openapi.json" \
    --url "$gateway" \
    --include-tag-regex "$tag_regex" \
    "${exclude[@]}" \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_SECONDS" \
    --exclude-checks positive_data_acceptance \
    --request-timeout 10 \
    --workers 2 \
    --phases "$PHASES" \
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
