#!/usr/bin/env bash
# Builds the docclass image without pulling a base image, from binaries built
# on this host (Debian 12, the glibc of distroless cc-debian12): for machines
# that cannot reach a registry. The image has the Dockerfile's runtime layout
# by construction: its final stage is taken from deploy/container/Dockerfile,
# with the distroless base replaced by the few files it provides that the
# server needs (the dynamic loader, libc, libm, libgcc_s, a passwd entry for
# uid 65532) and the build stage's output by the host's binaries.
#
# Usage: bash deploy/container/build-local.sh [TAG]   (default docclass:local)
# Needs podman (or set CONTAINER_TOOL=docker). Builds with default features,
# so the binaries also carry the load generator's code in their library;
# the Dockerfile builds with service,cli only.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG="${1:-docclass:local}"
TOOL="${CONTAINER_TOOL:-podman}"
DISTROLESS_FROM='FROM gcr.io/distroless/cc-debian12:nonroot'

nice -n 10 cargo build --release --locked --quiet --bin docclass-server --bin docclass
BIN="${CARGO_TARGET_DIR:-target}/release"

CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/docclass-image.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
mkdir -p "$CONTEXT/out/bin" "$CONTEXT/out/models" "$CONTEXT/rootfs/etc"
cp "$BIN/docclass-server" "$BIN/docclass" "$CONTEXT/out/bin/"
cp models/default.model "$CONTEXT/out/models/default.model"
# The shared libraries the binaries load, at the paths the loader looks in.
for lib in $(ldd "$BIN/docclass-server" "$BIN/docclass" | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$CONTEXT/rootfs$(dirname "$lib")"
  cp -L "$lib" "$CONTEXT/rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  > "$CONTEXT/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$CONTEXT/rootfs/etc/group"

# The Dockerfile's runtime stage, on scratch plus rootfs/, copying from out/.
grep -qx "$DISTROLESS_FROM" deploy/container/Dockerfile ||
  { echo "deploy/container/Dockerfile no longer has '$DISTROLESS_FROM'" >&2; exit 1; }
sed -n "\|^$DISTROLESS_FROM\$|,\$p" deploy/container/Dockerfile |
  sed -e "s|^$DISTROLESS_FROM\$|FROM scratch\nCOPY rootfs/ /|" \
      -e 's|COPY --from=build \(.*\) /out/|COPY \1 out/|' > "$CONTEXT/Containerfile"

"$TOOL" build --format docker \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -f "$CONTEXT/Containerfile" -t "$TAG" "$CONTEXT"
echo "built $TAG"
