# syntax=docker/dockerfile:1
# plimsoll's image: a static binary on distroless, running as 65532, with no
# shell. Build: docker build --build-arg VERSION=$(git describe --tags --always) -t plimsoll .
# The builder runs the same command as `make build` (CGO off: a static binary).

FROM golang:1.27.3-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN make build VERSION="${VERSION}" BIN=/out && /out/plimsoll version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/plimsoll /plimsoll
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/plimsoll"]
CMD ["serve"]
