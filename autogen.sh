#!/bin/sh
# Regenerate the build system from a git checkout: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf --install --force --warnings=all
