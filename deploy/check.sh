#!/usr/bin/env bash
# Lints the container image and validates the Kubernetes manifests (CI runs
# this): hadolint on deploy/container/Dockerfile, then every kustomization
# under deploy/k8s rendered with kustomize (pykustomize) and each rendered
# resource checked with kubernetes-validate --strict against the pinned
# Kubernetes versions. Fails, never skips, when the tools cannot be installed.
#
# Environment: DOCCLASS_DEPLOY_VENV (default /tmp/docclass-deploy-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOCCLASS_DEPLOY_VENV:-/tmp/docclass-deploy-venv}"
REQS=deploy/requirements.txt
# The oldest version the manifests need (native preStop sleep is on by
# default from 1.30; gRPC probes from 1.27) and a current one.
KUBERNETES_VERSIONS=(1.30.0 1.35.0)

if ! cmp -s "$REQS" "$VENV/.docclass-requirements.txt"; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --ignore-requires-python -r "$REQS"
  cp "$REQS" "$VENV/.docclass-requirements.txt"
fi

echo "hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}'): deploy/container/Dockerfile"
"$VENV/bin/hadolint" deploy/container/Dockerfile

RENDERED="$(mktemp -d "${TMPDIR:-/tmp}/docclass-k8s.XXXXXX")"
trap 'rm -rf "$RENDERED"' EXIT
"$VENV/bin/python" - "$RENDERED" <<'PY'
"""Renders every kustomization under deploy/k8s into RENDERED/<dir>.yaml.
Works on a copy: the example overlay's token and TLS files (kept out of
git) are written there as placeholders when absent."""
import asyncio, shutil, sys
from pathlib import Path
import pykustomize

out = Path(sys.argv[1])
tree = out / "src"
shutil.copytree("deploy/k8s", tree)
for name in ("admin-token", "client-token", "tls.crt", "tls.key"):
    token = tree / "overlays/example/secrets" / name
    if not token.exists():
        token.write_text("placeholder-for-validation")
for kustomization in sorted(tree.rglob("kustomization.yaml")):
    directory = kustomization.parent
    rendered = asyncio.run(pykustomize.build(str(directory))).yaml
    name = str(directory.relative_to(tree)).replace("/", "-")
    (out / f"{name}.yaml").write_text(rendered)
    resources = rendered.count("\n---\n") + 1
    print(f"kustomize (pykustomize {pykustomize.__version__}): "
          f"deploy/k8s/{directory.relative_to(tree)}, {resources} resources")
PY
for version in "${KUBERNETES_VERSIONS[@]}"; do
  "$VENV/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "$RENDERED"/*.yaml
  echo "kubernetes-validate --strict, Kubernetes $version: every rendered resource is valid"
done
