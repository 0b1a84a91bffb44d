#!/usr/bin/env bash
# The main job end to end: build mlist, start a throwaway registry on
# 127.0.0.1, push per-platform images, then create, inspect, update and
# delete a multi-platform list. Everything is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
mlist=$PWD/build/cli/mlist seed=$PWD/build/tests/ml-seed

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/data}
  delete: {enabled: true}
http: {addr: $reg}
YAML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; wait $registry_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Per-platform images, pushed from separate build hosts (registry at $reg)"
"$seed" --plain-http image "$reg/demo/app:1.0-amd64" --platform linux/amd64 --salt v1
"$seed" --plain-http image "$reg/demo/app:1.0-arm64" --platform linux/arm64/v8 --salt v1
"$seed" --plain-http image "$reg/demo/app-ppc64le:1.0" --platform linux/ppc64le --salt v1
"$seed" --plain-http image "$reg/demo/app:1.0-s390x" --platform linux/s390x --salt v1

cat >"$work/app.yaml" <<YAML
# the original proposal's format; the s390x entry takes its platform from the image
image: $reg/demo/app:1.0
tags: [latest]
manifests:
  - image: $reg/demo/app:1.0-amd64
    platform:
      "architecture": "x86_64"
      "os": "Linux"
  - image: $reg/demo/app:1.0-arm64
    platform: {architecture: arm64, os: linux, variant: v8}
  - image: $reg/demo/app-ppc64le:1.0
    platform:
      architecture: ppc64
      os: Linux
      variant: ppc64le
  - image: $reg/demo/app:1.0-s390x
YAML

step "Validate the spec offline"
show "$mlist" validate "$work/app.yaml"
step "Create the list (the ppc64le image lives in another repository: mounted)"
show "$mlist" create "$work/app.yaml"
step "Inspect it"
show "$mlist" inspect "$reg/demo/app:1.0"
show "$mlist" inspect --platform linux/arm64 "$reg/demo/app:1.0"
step "Nothing changed: update does not push"
show "$mlist" update "$work/app.yaml"
step "The arm64 image is rebuilt; update pushes a new list and says what changed"
"$seed" --plain-http image "$reg/demo/app:1.0-arm64" --platform linux/arm64/v8 --salt v2
show "$mlist" update --purge "$work/app.yaml"
step "Read it with skopeo and docker, clients nobody here wrote"
show skopeo inspect --raw --tls-verify=false "docker://$reg/demo/app:1.0" | head -c 300; echo
DOCKER_CONFIG=$work/docker show docker manifest inspect --insecure "$reg/demo/app:1.0" | head -n 12
step "Offline: copy the list with its children into an OCI image layout, which skopeo reads"
cat >"$work/layout.yaml" <<YAML
image: oci:$work/layout:1.0
manifests:
  - image: $reg/demo/app:1.0-amd64
  - image: $reg/demo/app:1.0-arm64
YAML
show "$mlist" create "$work/layout.yaml"
show skopeo inspect --override-arch arm64 "oci:$work/layout:1.0" | grep -E '"(Architecture|Digest)"'
step "Delete the list; the images stay"
show "$mlist" delete "$reg/demo/app:1.0"
show "$mlist" inspect "$reg/demo/app:1.0-amd64" | head -n 3
printf '\nDemo finished: the registry and its storage are removed.\n'
