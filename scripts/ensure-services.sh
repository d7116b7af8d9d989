#!/usr/bin/env bash
# Makes sure what the test suite needs is here: PostgreSQL answering on 127.0.0.1:5432 with a
# database "test", Redis on 127.0.0.1:6379 (rate-limit counts shared by workers), Debian's Chromium for the browser tests, Pango and fonts for PDF exports,
# poppler-utils to look at them, and ClamAV's daemon (clamd: the virus scanning tests start their own
# with a signature of their own, so no signature database is downloaded). Installs and starts them when
# missing and we are root (as in CI); otherwise says what to do.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pg_isready >/dev/null 2>&1 || need_apt+=(postgresql postgresql-client)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
redis_up || command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# PDF exports (WeasyPrint) need Pango and a font to embed.
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi 'dejavu' || need_apt+=(fonts-dejavu-core fontconfig)
[ -x /usr/sbin/clamd ] || command -v clamd >/dev/null 2>&1 || need_apt+=(clamav-daemon clamav)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${need_apt[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Missing: ${need_apt[*]}. Install them (e.g. sudo apt-get install ${need_apt[*]}) and run again." >&2
    exit 1
  fi
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters 2>/dev/null | grep -q "^$version *main"; then
      pg_createcluster "$version" main >/dev/null
    fi
    # Trust local TCP connections from loopback only, as on the development machines.
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    grep -q "^host all all 127.0.0.1/32 trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432 and could not be started." >&2
  exit 1
fi
if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
fi
if ! redis_up; then
  # Nothing kept on disk: the tests' counts are throwaway.
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379 and could not be started." >&2
  exit 1
fi
echo "Services ready: PostgreSQL at 127.0.0.1:5432 (database test), Redis at 127.0.0.1:6379, $(chromium --version 2>/dev/null | head -n 1), $(/usr/sbin/clamd --version 2>/dev/null || clamd --version 2>/dev/null)"
