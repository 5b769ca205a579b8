#!/bin/sh
# Makes a cluster on first start (trust on loopback), creates the user and database the
# variables name, then runs PostgreSQL in the foreground.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
PGPORT=${PGPORT:-5432}
USER_NAME=${POSTGRES_USER:-postgres}
DB_NAME=${POSTGRES_DB:-$USER_NAME}
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  "$BIN/initdb" -D "$PGDATA" --auth=trust --username=postgres >/dev/null
  "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k /tmp" -w start >/dev/null
  if [ "$USER_NAME" != postgres ]; then
    psql -h /tmp -p "$PGPORT" -U postgres -c "CREATE USER \"$USER_NAME\" SUPERUSER" >/dev/null
  fi
  if [ "$DB_NAME" != postgres ]; then
    psql -h /tmp -p "$PGPORT" -U postgres -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$USER_NAME\"" >/dev/null
  fi
  "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses=127.0.0.1 -p "$PGPORT" -k /tmp
