# Sourced by scripts/check-install.sh and scripts/check-musl.sh, which test a
# release tarball the same way: the one named, or one made with make dist
# (configuring the tree first if it is not).
# unpack_tarball [TARBALL]: sets $tarball (absolute), $work (a temporary
# directory removed at exit) and $src (the tarball unpacked in $work).
# Needs $top, the source tree.
unpack_tarball() {
    tarball=${1:-}
    if [ -z "$tarball" ]; then
        cd "$top"
        [ -f Makefile ] || { ./autogen.sh && ./configure; } >/dev/null
        make dist >/dev/null
        tarball=$(ls -t "$top"/libpopen2-*.tar.gz | head -n 1)
    fi
    tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    tar -xzf "$tarball" -C "$work"
    src=$(ls -d "$work"/libpopen2-*/)
}
