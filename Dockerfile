# syntax=docker/dockerfile:1
#
# One image per function:
#   docker build --build-arg FUNCTION=summarize -t REPO/summarize:TAG .
# The function binary sits at a fixed path so the exec-form ENTRYPOINT needs
# no variable; the `tasklane` ops binary rides along so the same image runs
# `tasklane migrate` (Terraform's tasklane-migrate job overrides the command).

# Bookworm on both sides: the binaries link the builder's glibc, and
# distroless/cc-debian12 carries bookworm's.
FROM rust:1.95-bookworm AS build
ARG FUNCTION
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between builds; target/ is
# not part of the image layer, so the binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    test -n "$FUNCTION" \
    || { echo "set the build arg: --build-arg FUNCTION=summarize" >&2; exit 1; } \
    && cargo build --release --locked -p "$FUNCTION" --bin "$FUNCTION" -p tasklane --bin tasklane \
    && install -D -m 0755 "target/release/$FUNCTION" /out/function \
    && install -D -m 0755 target/release/tasklane /out/tasklane

FROM gcr.io/distroless/cc-debian12:nonroot
ARG FUNCTION
LABEL org.opencontainers.image.title="tasklane-${FUNCTION}"
COPY --from=build /out/function /usr/local/bin/function
COPY --from=build /out/tasklane /usr/local/bin/tasklane
USER nonroot:nonroot
# Cloud Run sets PORT itself; the default serves `docker run` the same way.
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/function"]
CMD ["serve"]
