# A distroless-like runtime base made from Debian's packages, for machines that reach no
# registry (CI): what gcr.io/distroless/cc-debian12:nonroot has that metakv needs — glibc,
# libgcc, CA certificates, /etc/passwd with the nonroot user 65532, a writable /tmp — and no
# shell or package manager. Built by scripts/lib/containers.sh.
ARG BASE_IMAGE=localhost/metakv-base:bookworm
FROM ${BASE_IMAGE} AS debian
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/lib/x86_64-linux-gnu /rootfs/lib64 /rootfs/tmp /rootfs/home/nonroot \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libgcc_s.so.1 libpthread.so.0 libdl.so.2 librt.so.1; do \
      cp -L /lib/x86_64-linux-gnu/$lib /rootfs/lib/x86_64-linux-gnu/; done \
 && ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /rootfs/lib64/ld-linux-x86-64.so.2 \
 && chmod 1777 /rootfs/tmp && chown 65532:65532 /rootfs/home/nonroot \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group

FROM scratch
COPY --from=debian /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
