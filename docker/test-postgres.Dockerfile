# A stand-in for the official postgres image, built from Debian's packages, for machines that
# reach no registry (CI): the same interface where metakv's tests use it — POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, port 5432, password (SCRAM) authentication from any address,
# extra arguments passed to postgres, and the same log lines (a first "ready to accept
# connections" on stdout from the initialisation server, a second on stderr from the real one),
# which testcontainers' Postgres module waits for. Built by scripts/lib/containers.sh.
ARG BASE_IMAGE=localhost/metakv-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY test-postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
