#!/usr/bin/env bash
# Step 1 of the action: decides which tighten binary to use, where it lives and under which cache
# key, before actions/cache restores it. Writes the outputs method (download | source), version,
# target, releases-url, install-dir, cache-key and fallback (source when a missing release may
# be built from the action's own checkout instead).
#
# Environment: INPUT_VERSION, ACTION_REF and ACTION_REPOSITORY (github.action_ref and
# github.action_repository, empty in some composite-action contexts), TIGHTEN_RELEASES_URL (a
# mirror of the GitHub releases, `…/releases`; tests point it at 127.0.0.1), and the runner's
# GITHUB_ACTION_PATH, RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, RUNNER_TOOL_CACHE.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

action_path=${GITHUB_ACTION_PATH:?}
manifest="$action_path/Cargo.toml"
[ -f "$manifest" ] || die "$manifest is missing: is GITHUB_ACTION_PATH the action's checkout?"

# The first `version = "…"` and `repository = "…"` of the manifest: those of [package].
manifest_value() {
    sed -n "s/^$1 *= *\"\\([^\"]*\\)\".*/\\1/p" "$manifest" | head -n 1
}

requested=${INPUT_VERSION:-}
requested=${requested#v}
ref=${ACTION_REF:-}
fallback=""
case "$requested" in
"")
    version=$(manifest_value version)
    [ -n "$version" ] || die "no version in $manifest"
    method=download
    # The release that matches the action's checkout, or the checkout itself when there is none
    # yet. A branch ref (`@main`) always builds: its scripts may need a newer binary.
    fallback=source
    if [ -n "$ref" ] && ! [[ "$ref" =~ ^v?[0-9] || "$ref" =~ ^[0-9a-f]{40}$ ]]; then
        method=source
    fi
    ;;
source) method=source version=$(manifest_value version) ;;
latest) method=download version=latest ;;
*)
    [[ "$requested" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
        die "input version: expected X.Y.Z, vX.Y.Z, latest or source, got '${INPUT_VERSION:-}'"
    method=download version=$requested
    ;;
esac

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
Linux/X64) target=x86_64-unknown-linux-musl ;;
Linux/ARM64) target=aarch64-unknown-linux-musl ;;
macOS/ARM64) target=aarch64-apple-darwin ;;
macOS/X64) target=x86_64-apple-darwin ;;
Windows/X64) target=x86_64-pc-windows-msvc ;;
*) target="" ;;
esac

releases=${TIGHTEN_RELEASES_URL:-}
if [ -z "$releases" ]; then
    repo=${ACTION_REPOSITORY:-}
    if [ -z "$repo" ]; then
        repo=$(manifest_value repository)
        repo=${repo#https://github.com/}
        repo=${repo%.git}
    fi
    [ -n "$repo" ] && releases="https://github.com/$repo/releases"
fi

if [ "$method" = download ] && { [ -z "$target" ] || [ -z "$releases" ]; }; then
    why="no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
    [ -n "$target" ] && why="the action's repository is unknown (set TIGHTEN_RELEASES_URL)"
    [ "$fallback" = source ] || die "$why: use version: source"
    notice "$why: building tighten $version from the action's checkout"
    method=source
fi

host=${target:-${RUNNER_OS:-unknown}-${RUNNER_ARCH:-unknown}}
if [ "$method" = source ]; then
    # The sources that go into the binary: a different checkout is a different cache entry.
    hash=$(cd "$action_path" && find Cargo.toml Cargo.lock src docs data -type f 2>/dev/null |
        LC_ALL=C sort | xargs cat | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c 1-16)
    key="tighten-source-$version-$hash-$host"
else
    key="tighten-$version-$host"
fi
root=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?}}
install_dir="$root/tighten/${key#tighten-}"

set_output method "$method"
set_output version "$version"
set_output target "$target"
set_output releases-url "$releases"
set_output install-dir "$install_dir"
# `latest` moves: never cache it under a fixed key.
if [ "$version" = latest ]; then set_output cache-key ""; else set_output cache-key "$key"; fi
set_output fallback "$fallback"
echo "tighten: $method $version for ${target:-this runner} into $install_dir"
