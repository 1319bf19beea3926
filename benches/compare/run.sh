#!/usr/bin/env bash
# Issue 7, "side by side with what users would pick instead": on this machine, in one run, with
# one load generator (wrk) and the same request and response bytes, measure
#
#   bare      an axum handler answering a fixed JSON body (examples/bare_axum.rs): the limit
#   mock      our mock Greenhouse under `rehearsal serve`, GET /v3/candidates?per_page=100
#             with a valid bearer token, rate limit raised out of the way, 100 candidates
#   wiremock  WireMock standalone (npm `wiremock`, run on the JRE) with a stub answering the
#             same path with the page captured from our mock, bearer header required
#   engine    signed Greenhouse webhooks POSTed to `rehearsal engine serve` (verified, stored
#             in SQLite, acknowledged; the worker handles them meanwhile), each with its own
#             Greenhouse-Event-ID; COMPARE_ENGINE=0 leaves it out
#   bare_webhook  the same POSTs to the bare handler, which reads the body and answers a
#             fixed object: the engine's limit on this machine
#
# For the engine it also reports the worker's rate: events acted on per second during each
# engine run (read from /metrics before and after, `worker_load`) and while the backlog drains
# with no load (`engine_worker`).
#
# Each server is started once, warmed up, then measured COMPARE_REPEATS times, round robin,
# so the machine's noise falls on all of them alike. Prints medians of requests/s and p99 and
# the ratios issue 7 sets targets for. Not run in CI: tools come from benches/compare/setup.sh.
#
#   benches/compare/setup.sh && benches/compare/run.sh
#   COMPARE_DURATION=5s COMPARE_REPEATS=1 benches/compare/run.sh       # a quick look
#
# Knobs: COMPARE_THREADS (2), COMPARE_CONNECTIONS (32), COMPARE_DURATION (10s), COMPARE_REPEATS
# (3), COMPARE_WARMUP (10s), COMPARE_TOOLS (/tmp/compare-tools), COMPARE_BUILD (1: cargo build
# --release first), COMPARE_ENGINE (1), COMPARE_KEEP (0: 1 keeps the scratch folder),
# COMPARE_DRAIN_SECS (180: how long to wait for the engine's backlog before measuring on),
# COMPARE_SERVERS ("bare mock wiremock bare_webhook engine": which of them to measure; the
# bare handler always starts, it serves bare_webhook and checks the page).
#
# Exit 0 after a complete run, 1 when a server failed to start or answered wrongly, 2 when a
# tool is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/benches/compare"
threads="${COMPARE_THREADS:-2}"
connections="${COMPARE_CONNECTIONS:-32}"
duration="${COMPARE_DURATION:-10s}"
repeats="${COMPARE_REPEATS:-3}"
# The JVM compiles its hot paths during the first seconds; every server gets the same warm-up.
warmup="${COMPARE_WARMUP:-10s}"
tools_dir="${COMPARE_TOOLS:-/tmp/compare-tools}"
build="${COMPARE_BUILD:-1}"
with_engine="${COMPARE_ENGINE:-1}"
# 2 candidates from the fixture world plus 98 fake ones: the page holds the whole collection.
fake_candidates=98
page_path="/v3/candidates?per_page=100"

say() { printf 'compare: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

# --- tools -----------------------------------------------------------------------------------

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 — $2"); }
need wrk "apt-get install -y wrk"
need java "apt-get install -y default-jre-headless"
need node "apt-get install -y nodejs (frees a port, signs the engine's webhooks)"
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
[[ $build == 1 ]] && need cargo "rustup or the distribution's cargo"
wiremock_jar="$(ls "$tools_dir"/node_modules/wiremock/build/wiremock-standalone-*.jar 2>/dev/null |
    head -n 1 || true)"
[[ -n $wiremock_jar ]] ||
    missing+=("WireMock standalone jar in $tools_dir — npm install --prefix $tools_dir wiremock")
if ((${#missing[@]})); then
    say "missing tools:"
    printf '  - %s\n' "${missing[@]}" >&2
    say "benches/compare/setup.sh installs all of them"
    exit 2
fi

rehearsal="$repo/target/release/rehearsal"
bare_axum="$repo/target/release/examples/bare_axum"
if [[ $build == 1 ]]; then
    say "building release binaries (rehearsal, examples/bare_axum)"
    (cd "$repo" && cargo build --quiet --release --bin rehearsal --example bare_axum)
fi
for binary in "$rehearsal" "$bare_axum"; do
    [[ -x $binary ]] || { say "missing $binary — cargo build --release --bin rehearsal --example bare_axum"; exit 2; }
done

# --- servers ---------------------------------------------------------------------------------

scratch="$(mktemp -d /tmp/rehearsal-compare.XXXXXX)"
server_pids=()
cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${COMPARE_KEEP:-0} == 1 ]]; then say "kept $scratch (logs, page, engine store)"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Waits until FILE holds a line matching PATTERN (a server's start-up line), at most 30 s.
wait_for_line() {
    local file=$1 pattern=$2 tries
    for tries in $(seq 300); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Waits until URL answers anything at all over HTTP, at most 60 s (the JVM starts slowly).
wait_for_http() {
    local url=$1 tries
    for tries in $(seq 600); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) != 000 ]] && return 0
        sleep 0.1
    done
    return 1
}

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

start_mock() {
    say "starting the mock Greenhouse (rehearsal serve, 100 candidates)"
    "$rehearsal" serve --seed 1 --world "$repo/fixtures/serve-world.yaml" \
        --fake-candidates "$fake_candidates" >"$scratch/serve.out" 2>"$scratch/serve.err" &
    server_pids+=($!)
    mock_pid=$!
    wait_for_line "$scratch/serve.out" '"service":"greenhouse"' ||
        fail "rehearsal serve printed no start-up line; its stderr: $(tail -n 5 "$scratch/serve.err")"
    local line
    line="$(grep '"service":"greenhouse"' "$scratch/serve.out")"
    mock_url="$(jq -r .base_url <<<"$line")"

    # The credentials stay in this shell: never echoed, never written outside the scratch dir.
    client_id="$(jq -r .client_id <<<"$line")"
    client_secret="$(jq -r .client_secret <<<"$line")"
    iop_line="$(grep '"service":"iop"' "$scratch/serve.out")"
    token="$(curl -sS --fail -u "$client_id:$client_secret" \
        -d grant_type=client_credentials "$(jq -r .token_url <<<"$line")" | jq -r .access_token)"
    [[ -n $token && $token != null ]] || fail "the mock's token endpoint gave no access_token"

    # Greenhouse allows 50 requests per 30 s; a load run would measure 429s, not the mock.
    curl -sS --fail -o /dev/null -X PUT -H 'Content-Type: application/json' \
        -d '{"rate_limit_per_window": 100000000}' "$mock_url/_rehearsal/faults" ||
        fail "PUT /_rehearsal/faults refused"

    curl -sS --fail -H "Authorization: Bearer $token" -o "$scratch/page.json" \
        -D "$scratch/page.headers" "$mock_url$page_path" || fail "GET $page_path failed"
    local count
    count="$(jq length "$scratch/page.json")"
    [[ $count == 100 ]] || fail "the mock's page holds $count candidates, expected 100"
    say "mock at $mock_url, page of $count candidates, $(wc -c <"$scratch/page.json") bytes"
}

start_bare() {
    "$bare_axum" --body "$scratch/page.json" >"$scratch/bare.out" 2>"$scratch/bare.err" &
    server_pids+=($!)
    bare_pid=$!
    wait_for_line "$scratch/bare.out" base_url || fail "bare_axum did not start: $(cat "$scratch/bare.err")"
    bare_url="$(jq -r .base_url "$scratch/bare.out")"
    say "bare axum at $bare_url"
}

start_wiremock() {
    local root="$scratch/wiremock" port
    mkdir -p "$root/mappings" "$root/__files"
    cp "$scratch/page.json" "$root/__files/candidates-page.json"
    # What a WireMock user would write for this endpoint: path, query and a bearer header.
    cat >"$root/mappings/candidates.json" <<'JSON'
{
  "request": {
    "method": "GET",
    "urlPath": "/v3/candidates",
    "queryParameters": { "per_page": { "equalTo": "100" } },
    "headers": { "Authorization": { "matches": "Bearer .+" } }
  },
  "response": {
    "status": 200,
    "headers": { "Content-Type": "application/json" },
    "bodyFileName": "candidates-page.json"
  }
}
JSON
    port="$(free_port)"
    java -jar "$wiremock_jar" --bind-address 127.0.0.1 --port "$port" --root-dir "$root" \
        --disable-banner >"$scratch/wiremock.out" 2>&1 &
    server_pids+=($!)
    wiremock_pid=$!
    wiremock_url="http://127.0.0.1:$port"
    wait_for_http "$wiremock_url/__admin/mappings" ||
        fail "WireMock did not start: $(tail -n 5 "$scratch/wiremock.out")"
    say "WireMock $(basename "$wiremock_jar" .jar | sed 's/.*-//') at $wiremock_url"
}

# Every server must answer the very bytes the mock answered, or the comparison is void.
check_same_body() {
    local name=$1 url=$2
    curl -sS --fail -H "Authorization: Bearer $token" -o "$scratch/$name.page" "$url$page_path" ||
        fail "$name did not answer GET $page_path"
    cmp -s "$scratch/page.json" "$scratch/$name.page" || fail "$name answered another body"
}

# --- the engine (optional) -------------------------------------------------------------------

start_engine() {
    local port secret
    port="$(free_port)"
    secret="compare-$(date +%s%N)"
    # The engine's worker talks to the mocks of `rehearsal serve` (rate limit raised above),
    # so it works through the accepted events while wrk measures ingest.
    cat >"$scratch/engine.toml" <<TOML
[greenhouse]
base_url = "$mock_url"
token_url = "$mock_url/token"
client_id_env = "COMPARE_GH_CLIENT_ID"
client_secret_env = "COMPARE_GH_CLIENT_SECRET"
webhook_secret_envs = ["COMPARE_GH_WEBHOOK_SECRET"]

[iop]
base_url = "$(jq -r .base_url <<<"$iop_line")"
api_key_env = "COMPARE_IOP_API_KEY"
webhook_secret_envs = ["COMPARE_IOP_WEBHOOK_SECRET"]

[store]
sqlite_path = "$scratch/engine.db"

[service]
listen = "127.0.0.1:$port"
TOML
    COMPARE_GH_CLIENT_ID="$client_id" COMPARE_GH_CLIENT_SECRET="$client_secret" \
        COMPARE_GH_WEBHOOK_SECRET="$secret" COMPARE_IOP_API_KEY="$(jq -r .api_key <<<"$iop_line")" \
        COMPARE_IOP_WEBHOOK_SECRET=unused \
        "$rehearsal" engine serve --config "$scratch/engine.toml" \
        >"$scratch/engine.out" 2>"$scratch/engine.err" &
    server_pids+=($!)
    engine_pid=$!
    engine_url="http://127.0.0.1:$port"
    wait_for_http "$engine_url/healthz" ||
        fail "rehearsal engine serve did not start: $(tail -n 5 "$scratch/engine.err")"

    # Greenhouse signs the body only, so one signature serves every request of the run; the
    # Lua script varies Greenhouse-Event-ID per request and every webhook is a new event.
    cp "$repo/fixtures/webhooks/stage-change-onsite.json" "$scratch/webhook.json"
    engine_signature="sha256 $(COMPARE_SECRET="$secret" node -e '
        const body = require("fs").readFileSync(process.argv[1]);
        const mac = require("crypto").createHmac("sha256", process.env.COMPARE_SECRET);
        console.log(mac.update(body).digest("hex"));' "$scratch/webhook.json")"
    local status
    status="$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Signature: $engine_signature" -H 'Greenhouse-Event-ID: compare-probe' \
        --data-binary "@$scratch/webhook.json" "$engine_url/webhooks/greenhouse")"
    [[ $status == 200 ]] || fail "the engine refused a signed webhook with $status"
    say "engine at $engine_url"
}

# --- measuring -------------------------------------------------------------------------------

pending_events() { curl -sS --max-time 5 "$engine_url/readyz" | jq -r '.pending_events // "?"'; }

# Events the engine's worker has acted on so far (done, retried or dead-lettered), from /metrics.
acted_on() {
    curl -sS --max-time 5 "$engine_url/metrics" | awk '
        /^rehearsal_engine_(events_handled|retries|dead_lettered)_total\{/ { n += $NF }
        END { printf "%d\n", n }'
}

# Waits, at most COMPARE_DRAIN_SECS (180), until the engine has handled every stored event; with
# RECORD=1 appends the worker's rate (events handled per second, no ingest load) to the results.
drain_engine() {
    local record=$1 limit="${COMPARE_DRAIN_SECS:-180}" before after started elapsed
    before="$(pending_events)"
    started="$(date +%s.%N)"
    after=$before
    while [[ $after != 0 ]]; do
        elapsed="$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { print n - s }')"
        if awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e > l) }'; then
            say "the engine still had $after events pending after ${limit} s; measuring on"
            break
        fi
        sleep 0.25
        after="$(pending_events)"
    done
    elapsed="$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN { print n - s }')"
    [[ $record == 1 ]] || return 0
    awk -v b="$before" -v a="$after" -v e="$elapsed" 'BEGIN {
        printf "engine_worker %.1f 0 0 0\n", (b - a) / e
    }' | tee -a "$scratch/results" |
        awk -v b="$before" -v e="$elapsed" '{ printf "compare:   %-12s %10.0f events/s handled (%d events in %.1f s)\n", $1, $2, b, e }' >&2
}

# Runs wrk once against server NAME for LENGTH; with RECORD=1 appends
# "name rps p99_ms non2xx socket_errors" to the results, else it was a warm-up.
run_wrk() {
    local name=$1 length=$2 record=$3 out="$scratch/wrk.out" acted_before=0
    [[ $name == engine ]] && acted_before="$(acted_on)"
    case $name in
        engine | bare_webhook)
            local base="$engine_url"
            [[ $name == bare_webhook ]] && base="$bare_url"
            COMPARE_BODY_FILE="$scratch/webhook.json" COMPARE_SIGNATURE="$engine_signature" \
                COMPARE_RUN_ID="run$(date +%s%N)" \
                wrk -t"$threads" -c"$connections" -d"$length" --latency \
                -s "$here/webhook.lua" "$base/webhooks/greenhouse" >"$out" 2>&1
            ;;
        *)
            local url_var="${name}_url"
            wrk -t"$threads" -c"$connections" -d"$length" --latency \
                -H "Authorization: Bearer $token" "${!url_var}$page_path" >"$out" 2>&1
            ;;
    esac
    [[ $record == 1 ]] || return 0
    if [[ $name == engine ]]; then
        # The worker's rate while ingest is under load: events acted on during the wrk run.
        local acted_after
        acted_after="$(acted_on)"
        awk -v b="$acted_before" -v a="$acted_after" '/requests in/ {
            secs = $4; sub(/s,?$/, "", secs)
            printf "engine_worker_load %.1f 0 0 0\n", (a - b) / secs
        }' "$out" | tee -a "$scratch/results" |
            awk '{ printf "compare:   %-12s %10.0f events/s handled during the run\n", $1, $2 }' >&2
    fi
    awk -v name="$name" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            return v * 1000
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $5 }
        /Socket errors:/ { gsub(",", ""); sockets = $4 + $6 + $8 + $10 }
        END { printf "%s %s %s %d %d\n", name, rps, p99, bad, sockets }
    ' "$out" | tee -a "$scratch/results" | awk '{ printf "compare:   %-12s %10.0f req/s  p99 %8.2f ms  non-2xx %d  socket errors %d\n", $1, $2, $3, $4, $5 }' >&2
}

start_mock
start_bare
wanted=" ${COMPARE_SERVERS:-bare mock wiremock bare_webhook engine} "
[[ $with_engine == 1 ]] || wanted="${wanted/ engine / }"
servers=()
for name in bare mock wiremock bare_webhook engine; do
    [[ $wanted == *" $name "* ]] && servers+=("$name")
done
((${#servers[@]})) || fail "COMPARE_SERVERS names none of: bare mock wiremock bare_webhook engine"
[[ $wanted == *" wiremock "* ]] && start_wiremock
check_same_body bare "$bare_url"
[[ $wanted == *" wiremock "* ]] && check_same_body wiremock "$wiremock_url"
if [[ $wanted == *" engine "* ]]; then
    with_engine=1
    start_engine
else
    with_engine=0
fi
bare_webhook_pid=$bare_pid

say "wrk -t$threads -c$connections -d$duration --latency, $repeats round(s), warm-up $warmup each:"
say "  GET  wrk -t$threads -c$connections -d$duration --latency -H 'Authorization: Bearer …' URL$page_path"
[[ $with_engine == 1 ]] &&
    say "  POST wrk -t$threads -c$connections -d$duration --latency -s benches/compare/webhook.lua URL/webhooks/greenhouse"
# Each server in turn; after the engine, its backlog drains before anything else is measured,
# so the engine's worker never competes with another server's run for the two cores.
measure_round() {
    local length=$1 record=$2 name
    for name in "${servers[@]}"; do
        run_wrk "$name" "$length" "$record"
        [[ $name == engine ]] && drain_engine "$record"
    done
    return 0
}
measure_round "$warmup" 0
for round in $(seq "$repeats"); do
    say "round $round of $repeats"
    measure_round "$duration" 1
done

# --- report ----------------------------------------------------------------------------------

median() { # NAME COLUMN
    awk -v name="$1" -v col="$2" '$1 == name { print $col }' "$scratch/results" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() { awk -v name="$1" -v col="$2" '$1 == name { s += $col } END { print s + 0 }' "$scratch/results"; }

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average before the report: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: wrk -t$threads -c$connections -d$duration --latency, $repeats round(s), medians; page of 100 candidates, $(wc -c <"$scratch/page.json") bytes"
printf '%-13s %12s %10s %9s %9s %9s\n' server "req/s" "p99 ms" non-2xx "sock err" "RSS MiB"
declare -A rps
for name in "${servers[@]}"; do
    rps[$name]="$(median "$name" 2)"
    pid_var="${name}_pid"
    printf '%-13s %12.0f %10.2f %9d %9d %9s\n' "$name" "${rps[$name]}" "$(median "$name" 3)" \
        "$(total "$name" 4)" "$(total "$name" 5)" "$(rss_mib "${!pid_var}")"
done
if [[ $with_engine == 1 ]]; then
    rps[engine_worker]="$(median engine_worker 2)"
    printf '%-13s %12.0f %10s %9s %9s %9s   events handled/s while draining, no ingest load\n' \
        engine_worker "${rps[engine_worker]}" - - - "$(rss_mib "$engine_pid")"
    printf '%-13s %12.0f %10s %9s %9s %9s   events handled/s during the engine runs, under ingest load\n' \
        worker_load "$(median engine_worker_load 2)" - - - -
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "NOT met") }'; }
echo
mock_wiremock="$(ratio "${rps[mock]:-0}" "${rps[wiremock]:-0}")"
mock_bare="$(ratio "${rps[mock]:-0}" "${rps[bare]:-0}")"
wiremock_bare="$(ratio "${rps[wiremock]:-0}" "${rps[bare]:-0}")"
if [[ $wanted == *" wiremock "* && $wanted == *" mock "* ]]; then
    echo "mock / wiremock  = ${mock_wiremock}x   (target >= 5x: $(verdict "$mock_wiremock" 5))"
    echo "wiremock / bare  = ${wiremock_bare}"
fi
[[ $wanted == *" mock "* ]] && echo "mock / bare      = ${mock_bare}    (target >= 0.50: $(verdict "$mock_bare" 0.5))"
if [[ $with_engine == 1 ]]; then
    engine_webhook="$(ratio "${rps[engine]}" "${rps[bare_webhook]:-0}")"
    engine_bare="$(ratio "${rps[engine]}" "${rps[bare]:-0}")"
    echo "engine / bare_webhook = ${engine_webhook}    (target >= 0.20: $(verdict "$engine_webhook" 0.2); same POSTs, bare answers without verifying or storing)"
    echo "engine / bare    = ${engine_bare}    (webhooks accepted per second vs pages served per second)"
    echo "engine_worker / bare_webhook = $(ratio "${rps[engine_worker]}" "${rps[bare_webhook]}")    (events handled end to end per second vs bare POSTs)"
fi
