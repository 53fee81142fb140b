#!/usr/bin/env bash
# Prints a SQLAlchemy URL of a PostgreSQL server the tests may use.
# 1. EHCERT_TEST_PG_URL if set; 2. the local server on 127.0.0.1:5432 (user postgres,
# trust auth, database test) if it answers; 3. otherwise a throwaway cluster started from
# Debian's postgresql package in a temporary directory, listening on a free port.
set -euo pipefail

if [ -n "${EHCERT_TEST_PG_URL:-}" ]; then
    echo "$EHCERT_TEST_PG_URL"
    exit 0
fi
if psql -h 127.0.0.1 -p 5432 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
    echo "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
root=${EHCERT_PG_DIR:-/tmp/ehcert-pg}
port=${EHCERT_PG_PORT:-55432}
run_as=()
if [ "$(id -u)" -eq 0 ]; then run_as=(runuser -u postgres --); fi

if ! psql -h 127.0.0.1 -p "$port" -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
    echo "No PostgreSQL on 127.0.0.1:5432; starting a throwaway one on port $port" >&2
    rm -rf "$root"
    mkdir -p "$root"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$root"; fi
    "${run_as[@]}" "$bindir/initdb" -D "$root/data" -U postgres --auth=trust >/dev/null
    "${run_as[@]}" "$bindir/pg_ctl" -D "$root/data" -l "$root/log" -w \
        -o "-h 127.0.0.1 -p $port -k $root" start >/dev/null
    psql -h 127.0.0.1 -p "$port" -U postgres -Atqc 'create database test' >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$port/test"
