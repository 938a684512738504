# tighten in a container, for GitLab CI and other runners that take an image.
#
#   docker build -t tighten .
#   docker run --rm -v "$PWD:/work" tighten lint infra/ --format sarif --output tighten.sarif
#
# Stage 1 builds a static binary on Alpine, whose libc is musl: the C parts (SQLite, ring) need
# no cross toolchain, and Rust's musl target links statically. Stage 2 is distroless/static:
# no shell, no package manager, CA certificates for S3 and EC2 over TLS, user nonroot (65532).
# A CI system that runs `script:` lines in the image needs a shell: build with
#   --build-arg BASE=gcr.io/distroless/static-debian12:debug-nonroot   (busybox sh)
# The base images are pinned by tag; pin them by digest (@sha256:…) where builds must be
# reproducible.
ARG BASE=gcr.io/distroless/static-debian12:nonroot

FROM rust:1-alpine AS build
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# Alpine drops old package versions from its mirrors: pinning them would break the build, and
# the compiler and binutils do not end up in the image.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev gcc binutils
WORKDIR /src
# The dependencies first, built in their own layer against stub sources: a change to tighten's
# own sources does not rebuild them (most of a 14-minute build on two cores).
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' >src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/.fingerprint/tighten-* target/release/deps/*tighten*
COPY src src
COPY docs docs
COPY data data
# COPY keeps the files' own times, which may be older than the stub build: touch them.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && if readelf -d target/release/tighten | grep -q NEEDED; then \
        echo "target/release/tighten is not static" >&2; exit 1; \
    fi \
    && target/release/tighten --version

FROM ${BASE}
COPY --from=build /src/target/release/tighten /usr/local/bin/tighten
COPY README.md /usr/share/doc/tighten/README.md
COPY data/terraform-aws-security-group/NOTICE.md /usr/share/doc/tighten/notices/terraform-aws-security-group.md
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/tighten"]
CMD ["--help"]
