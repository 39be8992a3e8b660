# Offerdeck container image: build with `docker build -t offerdeck .`
#
# Stage 1 compiles a static binary; nothing from it but the binary ships.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/dashboard ./cmd/dashboard \
 && mkdir -p /out/state

# Stage 2 is a slim Debian: the embedded stand-in master runs command tasks
# with /bin/sh, so the image keeps a shell and coreutils, and nothing else.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 offerdeck \
 && useradd --system --uid 10001 --gid offerdeck --home-dir /var/lib/offerdeck --shell /usr/sbin/nologin offerdeck
COPY --from=build /out/dashboard /usr/local/bin/dashboard
COPY --from=build --chown=10001:10001 /out/state /var/lib/offerdeck
USER 10001:10001
ENV OFFERDECK_STATE_DIR=/var/lib/offerdeck
VOLUME /var/lib/offerdeck
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dashboard"]
# Inside a container the dashboard must listen beyond loopback. Without
# users (--auth-file or OFFERDECK_USERS) it makes a one-time operator token
# and logs a login link carrying it (docker logs shows it); publish the
# port only to the host (docker run -p 127.0.0.1:8080:8080) all the same.
CMD ["--listen", "0.0.0.0:8080"]
