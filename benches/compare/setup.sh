#!/usr/bin/env bash
# Installs what benches/compare/run.sh needs and CI never has: wrk and a headless JRE (Debian
# packages, so this needs root) and the npm `wiremock` package in a scratch folder outside the
# repository. Safe to run twice. Not run in CI.
#
#   benches/compare/setup.sh                    # tools into /tmp/compare-tools
#   COMPARE_TOOLS=/opt/tools benches/compare/setup.sh
set -euo pipefail

tools_dir="${COMPARE_TOOLS:-/tmp/compare-tools}"

if ! command -v wrk >/dev/null || ! command -v java >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: wrk or java is missing and installing them needs root:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y wrk default-jre-headless" >&2
        exit 1
    fi
    apt-get update
    apt-get install -y wrk default-jre-headless
fi

if ! command -v npm >/dev/null; then
    echo "setup: npm is missing (Debian: apt-get install -y npm); it installs WireMock" >&2
    exit 1
fi
mkdir -p "$tools_dir"
if [[ ! -f "$tools_dir/node_modules/wiremock/index.js" ]]; then
    # A package.json of its own keeps npm from walking up into another project.
    [[ -f "$tools_dir/package.json" ]] || echo '{"private": true}' >"$tools_dir/package.json"
    npm install --prefix "$tools_dir" --no-audit --no-fund wiremock
fi
echo "setup: wrk $(command -v wrk), java $(command -v java), WireMock in $tools_dir"
