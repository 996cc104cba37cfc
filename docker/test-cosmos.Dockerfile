# The project's Cosmos DB emulator in a container: @vercel/cosmosdb-server as pinned by
# scripts/cosmos-emulator/package-lock.json (installed on the host by `npm ci`; the build
# context is scripts/cosmos-emulator), started by launch.js with its patches, on Debian's
# Node.js. Like Microsoft's Linux emulator: HTTPS with a self-signed certificate on port 8081,
# any key accepted. It prints "listening <host>:<port>" once it serves requests. Built by
# scripts/lib/containers.sh.
ARG BASE_IMAGE=localhost/metakv-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY . /emulator/
WORKDIR /emulator
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["node", "launch.js"]
CMD ["8081", "0.0.0.0"]
