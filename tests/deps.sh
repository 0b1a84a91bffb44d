#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need,
# when any is missing. Needs root (or sudo).
set -euo pipefail
packages=(meson ninja-build pkg-config gcc g++ libcurl4-openssl-dev libfyaml-dev
  libcjson-dev libmbedtls-dev docker-registry skopeo apache2-utils openssl
  python3 python3-jwt python3-cryptography python3-venv python3-setuptools python3-wheel
  python3-mypy curl valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# The docker CLI reads lists without a daemon; Debian ships it in docker.io.
command -v docker >/dev/null || missing+=(docker.io)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
