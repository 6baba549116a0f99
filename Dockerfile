# syntax=docker/dockerfile:1
# The bot's container image, for people who build their own. `make image`
# writes the same image without a container engine (tools/imagebuild), and
# a test there holds this file to it: change both together.
#
#   docker build -t bot:latest \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg REVISION="$(git rev-parse --short HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#   docker buildx build --platform linux/amd64,linux/arm64 ...   (both at once)
#
# Then see compose.yaml, or README.md ("Container").

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown

# The binary, cross-compiled on the build machine's own platform: static
# (CGO_ENABLED=0), so that it runs on scratch.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION
ARG REVISION
ARG CREATED
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${REVISION} -X main.date=${CREATED}" \
      -o /out/bot .

# What the binary needs of a Linux system, from Debian's packages: the CA
# certificates (TLS to Discord) and the time zone database, without right/
# (the same zones counting leap seconds) and the link to /etc/localtime;
# and the empty data directory, owned by nonroot (65532).
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS rootfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /rootfs \
 && cp -a /usr/share/zoneinfo /rootfs/zoneinfo \
 && rm -rf /rootfs/zoneinfo/right /rootfs/zoneinfo/localtime \
 && install -d -o 65532 -g 65532 -m 0700 /rootfs/data

FROM scratch
COPY tools/imagebuild/rootfs/etc/passwd tools/imagebuild/rootfs/etc/group /etc/
COPY --from=rootfs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=rootfs /rootfs/zoneinfo /usr/share/zoneinfo
COPY --from=rootfs --chown=65532:65532 --chmod=0700 /rootfs/data /data
COPY --from=build /out/bot /usr/bin/bot
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
# The data directory is the volume whatever config.toml says: variables
# override the file. Every other setting can be given as BOT_* too.
ENV BOT_STORAGE_DATA_DIR=/data
ENTRYPOINT ["/usr/bin/bot"]
CMD ["run"]
HEALTHCHECK --interval=1m --timeout=30s --start-period=1m --retries=3 \
  CMD ["/usr/bin/bot", "health", "--offline"]
ARG VERSION
ARG REVISION
ARG CREATED
LABEL org.opencontainers.image.title="bot" \
      org.opencontainers.image.description="A self-hosted Discord moderation bot in one binary, with an embedded encrypted database" \
      org.opencontainers.image.source="https://github.com/modbot/bot" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
