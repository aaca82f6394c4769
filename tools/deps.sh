#!/bin/sh
# Install the Debian packages strobe needs to build and test, if missing.
#   tools/deps.sh build   -> compiler, make, zlib headers
#   tools/deps.sh test    -> + go (go tool pprof reads our pprof files), protoc,
#                            python3-uvloop (uvloop test, on Debian's python3)
#   tools/deps.sh san     -> + clang (make sanitize)
# A no-op when everything is there; needs root (or sudo) otherwise.
set -e
want="gcc make zlib1g-dev"
[ "${1:-build}" = test ] && want="$want golang-go protobuf-compiler python3-uvloop"
[ "${1:-build}" = san ] && want="$want golang-go protobuf-compiler python3-uvloop clang"
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "strobe: installing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "strobe: error: need root to install:$missing (apt-get install -y$missing)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q $missing >&2
