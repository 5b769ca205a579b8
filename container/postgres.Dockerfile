# PostgreSQL for `make container-test`, from Debian's packages (no registry is reachable
# there). It takes the public postgres image's variables: POSTGRES_USER, POSTGRES_DB and
# PGPORT (trust authentication on 127.0.0.1: the test keeps all traffic on loopback).
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
COPY container/postgres-start.sh /usr/local/bin/postgres-start
USER postgres
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-start"]
