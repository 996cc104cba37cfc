# syntax=docker/dockerfile:1
# The metakv server image.
#
#   docker build -t metakv .
#   docker run -p 7070:7070 -v metakv-data:/var/lib/metakv metakv
#
# Runtime: distroless (glibc, CA certificates, nothing else; no shell), user 65532, works with a
# read-only root filesystem. The embedded store lives in the volume /var/lib/metakv; every other
# backend is chosen with METAKV_* variables (README, "Configuration"). Liveness: GET /healthz;
# readiness: GET /readyz (Kubernetes probes; no HEALTHCHECK, the image has no shell or curl).
#
# Build arguments:
#   RUST_IMAGE     the builder (default: the official Rust image of the workspace's rust-version)
#   RUNTIME_IMAGE  the runtime base (default: distroless cc, Debian 12)
#   BINARY         build (default): compile in RUST_IMAGE; context: take target/image/metakv (and
#                  the empty target/image/data/) from the build context instead (CI, where no registry is reachable: the binary
#                  cargo built on the host, for a runtime base of the same Debian release)

ARG RUST_IMAGE=docker.io/library/rust:1.89-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG BINARY=build

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p metakv \
 && mkdir -p /out/data && objcopy --strip-debug target/release/metakv /out/metakv

FROM scratch AS context
COPY target/image/ /out/

FROM ${BINARY} AS binary

FROM ${RUNTIME_IMAGE}
COPY --from=binary /out/metakv /usr/local/bin/metakv
ENV METAKV_SERVER__LISTEN=0.0.0.0:7070 \
    METAKV_DATABASE__LOCAL__PATH=/var/lib/metakv
# The volume's mount point must exist, owned by the server's user, before the volume is
# mounted: a new named volume takes its owner from it.
COPY --from=binary --chown=65532:65532 /out/data/ /var/lib/metakv/
USER 65532:65532
VOLUME ["/var/lib/metakv"]
EXPOSE 7070
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/metakv"]
CMD ["serve"]
