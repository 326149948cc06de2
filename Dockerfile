# Lanyard's container image: the static binary on an empty base (scratch),
# running as the unprivileged user lanyard (65532), its SQLite data in the
# volume /data, listening on 8080, healthy when /readyz answers 200.
#
# Two ways to get the binary (the final stage is the same):
#
#   From source, in a Go build stage (needs the golang image from a registry):
#     podman build --format docker -t lanyard .
#
#   From a release binary built on the host, with no registry at all:
#     scripts/release.sh && cp /etc/ssl/certs/ca-certificates.crt dist/
#     podman build --format docker --build-arg BINARY=prebuilt -t lanyard .
#
# (--format docker keeps the HEALTHCHECK, which the OCI format has no field for.)
ARG BINARY=source
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm

# --- the binary built from source ---------------------------------------------
FROM ${GO_IMAGE} AS source
# The build context has no .git (.dockerignore): the version comes from here,
# e.g. --build-arg VERSION=$(git describe --tags --always).
ARG VERSION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN mkdir -p /out/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid= -X main.releaseVersion=${VERSION}" -o /out/lanyard ./cmd/lanyard

# --- the binary of scripts/release.sh -------------------------------------------
FROM scratch AS prebuilt
ARG TARGETARCH=amd64
COPY dist/lanyard-linux-${TARGETARCH} /out/lanyard
COPY dist/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt

FROM ${BINARY} AS binary

# --- the image --------------------------------------------------------------------
FROM scratch
COPY --from=binary /out/ /
COPY packaging/container/rootfs/etc/ /etc/
COPY --chown=65532:65532 packaging/container/rootfs/data/ /data/
COPY --chown=65532:65532 packaging/container/rootfs/tmp/ /tmp/
USER 65532:65532
ENV LANYARD_ADDR=0.0.0.0:8080 \
    LANYARD_DATA=/data \
    LANYARD_LOG_FORMAT=json \
    TMPDIR=/tmp
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/lanyard", "healthcheck"]
ENTRYPOINT ["/lanyard"]
CMD ["serve"]
