#!/usr/bin/env bash
# Installs the Debian packages ehcert's run and test commands need, only when missing.
# openssl: interop checks; softhsm2: the HSM and eID stand-in (PKCS#11);
# faketime: clock travel for a whole server process; postgresql: a throwaway test server
# when none runs; python3-venv: the project's virtual environment; xmlsec1: the XML-DSig
# tool the STS tests verify SAML assertions with; chromium: the headless browser the web
# UI tests drive through Playwright (never 'playwright install'); gettext: msgfmt, the
# reference the UI's compiled catalogs are checked against.
set -euo pipefail

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v faketime >/dev/null || need+=(faketime)
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
command -v pg_ctlcluster >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v chromium >/dev/null || need+=(chromium)
command -v msgfmt >/dev/null || need+=(gettext)
# make bench (scripts/install-system-deps.sh --bench): wrk, the HTTP load generator, and
# GNU time, which bench_seal.py uses for the peak memory of each openssl process.
if [ "${1:-}" = "--bench" ]; then
    command -v wrk >/dev/null || need+=(wrk)
    [ -x /usr/bin/time ] || need+=(time)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "Installing Debian packages: ${need[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
