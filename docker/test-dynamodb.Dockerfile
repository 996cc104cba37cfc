# A stand-in for AWS's amazon/dynamodb-local image, built from Debian's JRE and the DynamoDB
# Local jars that scripts/dynamodb-local/pom.xml resolves from Maven Central (the build context
# is scripts/dynamodb-local/target), for machines that reach no registry (CI). Same interface:
# in memory, port 8000, the same start-up line testcontainers waits for. Built by
# scripts/lib/containers.sh.
ARG BASE_IMAGE=localhost/metakv-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 dynamodblocal
COPY dependency/ /home/dynamodblocal/lib/
COPY native/ /home/dynamodblocal/native/
WORKDIR /home/dynamodblocal
USER dynamodblocal
EXPOSE 8000
ENTRYPOINT ["java", "-Xmx512m", "-Djava.library.path=native", "-Dsqlite4java.library.path=native", \
            "-cp", "lib/*", "software.amazon.dynamodb.services.local.main.ServerRunner"]
CMD ["-inMemory", "-port", "8000"]
