# idflow's runtime image: the release server and the console's files, run as a user
# without privileges, keeping its data (SQLite, the key file) in /data.
#
# Build after `make build-release` (the binary is built on the host, on Debian bookworm,
# so the base must be bookworm-compatible):
#   podman build --format docker -t idflow .
# The base is an argument, so you can start from the public image (the default) or one
# made locally (`make container-test` does, since no registry is reachable there).
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin idflow \
    && mkdir -p /data /opt/idflow \
    && chown idflow:idflow /data

COPY target/server-release/idflow /usr/local/bin/idflow
COPY target/site /opt/idflow/site

ENV IDFLOW_DATA_DIR=/data \
    IDFLOW_SITE_DIR=/opt/idflow/site \
    IDFLOW_LISTEN=0.0.0.0:3000 \
    IDFLOW_LOG_FORMAT=json

USER idflow
VOLUME ["/data"]
EXPOSE 3000

# Ready: the database answers and every migration is applied. IDFLOW_LISTEN's port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl --fail --silent --max-time 2 "http://127.0.0.1:${IDFLOW_LISTEN##*:}/readyz" > /dev/null || exit 1

# idflow handles SIGTERM: it stops taking requests, finishes those in flight and exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/idflow"]
CMD ["serve"]
