#!/usr/bin/env bash
# Step 2 of the action (after actions/cache restored INSTALL_DIR, if it could): puts the tighten
# binary that plan.sh chose into INSTALL_DIR/bin and on PATH.
#
# download: fetches checksums.txt and tighten-TARGET.tar.gz (.zip on Windows) of the release,
#   checks the archive's SHA-256 against checksums.txt and refuses it on any mismatch; a
#   missing release (HTTP 404) builds from source only when plan.sh allowed it (FALLBACK).
# source: `cargo install --locked --path "$GITHUB_ACTION_PATH"` (needs a Rust toolchain).
#
# Environment: METHOD, VERSION, TARGET, RELEASES_URL, INSTALL_DIR, FALLBACK (plan.sh's outputs),
# GITHUB_ACTION_PATH, GITHUB_PATH, GITHUB_OUTPUT, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

method=${METHOD:?} version=${VERSION:?} target=${TARGET:-} install_dir=${INSTALL_DIR:?}
exe=""
case "$target" in *windows*) exe=.exe ;; esac
bin_dir="$install_dir/bin"
bin="$bin_dir/tighten$exe"

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    else
        shasum -a 256 "$1" | cut -d ' ' -f 1
    fi
}

# Downloads $1 into $2; prints the HTTP status (000 when there was no answer).
fetch() {
    curl --silent --show-error --location --retry 3 --retry-delay 2 --connect-timeout 20 \
        --max-time 300 --output "$2" --write-out '%{http_code}' "$1" || true
}

download() {
    local base archive tmp status expected actual n
    if [ "$version" = latest ]; then
        base="${RELEASES_URL:?}/latest/download"
    else
        base="${RELEASES_URL:?}/download/v$version"
    fi
    archive="tighten-$target.tar.gz"
    [ -n "$exe" ] && archive="tighten-$target.zip"
    tmp=$(mktemp -d "${RUNNER_TEMP:?}/tighten-download.XXXXXX")

    status=$(fetch "$base/checksums.txt" "$tmp/checksums.txt")
    if [ "$status" = 404 ]; then
        [ "${FALLBACK:-}" = source ] || die "no release v$version at $base (HTTP 404): check input version"
        notice "no release v$version at $base: building it from the action's checkout"
        NEED_BUILD=1
        return 0
    fi
    [ "$status" = 200 ] || die "cannot download $base/checksums.txt (HTTP $status)"
    status=$(fetch "$base/$archive" "$tmp/$archive")
    [ "$status" = 200 ] || die "cannot download $base/$archive (HTTP $status)"

    # `sha256sum` format: HASH, two spaces (or space and `*`), file name.
    expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")
    n=$(printf '%s' "$expected" | grep -c . || true)
    [ "$n" = 1 ] && [[ "$expected" =~ ^[0-9a-f]{64}$ ]] ||
        die "checksums.txt of v$version has no single SHA-256 for $archive"
    actual=$(sha256 "$tmp/$archive")
    [ "$actual" = "$expected" ] ||
        die "SHA-256 mismatch for $archive: checksums.txt says $expected, the download is $actual; not installing it"

    mkdir -p "$tmp/x"
    if [ -n "$exe" ]; then
        unzip -q "$tmp/$archive" -d "$tmp/x"
    else
        tar -xzf "$tmp/$archive" -C "$tmp/x"
    fi
    [ -f "$tmp/x/tighten-$target/tighten$exe" ] || die "$archive has no tighten-$target/tighten$exe"
    mkdir -p "$bin_dir"
    mv "$tmp/x/tighten-$target/tighten$exe" "$bin"
    chmod +x "$bin"
    rm -rf "$tmp"
    echo "tighten: installed $archive v$version (SHA-256 $actual)"
}

build() {
    command -v cargo >/dev/null 2>&1 ||
        die "building tighten from source needs cargo (a Rust toolchain, e.g. rustup) on the runner"
    echo "::group::cargo install --locked --path $GITHUB_ACTION_PATH"
    cargo install --locked --path "${GITHUB_ACTION_PATH:?}" --root "$install_dir" \
        --target-dir "${RUNNER_TEMP:?}/tighten-build"
    echo "::endgroup::"
}

NEED_BUILD=0
if [ -x "$bin" ]; then
    echo "tighten: using $bin (cached)"
elif [ "$method" = download ]; then
    download
else
    NEED_BUILD=1
fi
if [ "$NEED_BUILD" = 1 ]; then
    build
fi

"$bin" --version >/dev/null || die "$bin does not run on this runner"
echo "$bin_dir" >>"${GITHUB_PATH:?}"
set_output path "$bin"
set_output tighten-version "$("$bin" --version)"
