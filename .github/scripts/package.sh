#!/usr/bin/env bash
# Packs a built tighten binary the way the release publishes it and the action installs it:
#
#   OUT_DIR/tighten-TARGET.tar.gz   (tighten-TARGET.zip for a Windows target)
#     tighten-TARGET/tighten[.exe]
#     tighten-TARGET/README.md, LICENSE* (when the repository has one)
#     tighten-TARGET/notices/terraform-aws-security-group.md (its rules.tf is in the binary)
#     tighten-TARGET/completions/tighten.bash, _tighten (zsh), tighten.fish, _tighten.ps1
#     tighten-TARGET/man/man1/tighten.1, tighten-SUBCOMMAND.1, …
#
# The completions and manual pages come from the binary itself, so it must run on the machine
# that packs it (every release job builds for its own OS; x86_64 macOS runs under Rosetta).
# Prints the archive's path. Usage: package.sh BINARY TARGET OUT_DIR
set -euo pipefail

[ $# -eq 3 ] || {
    echo "usage: $0 BINARY TARGET OUT_DIR" >&2
    exit 2
}
binary=$1 target=$2 out_dir=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
name="tighten-$target"
exe=""
case "$target" in *windows*) exe=.exe ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/completions" "$dir/man/man1" "$dir/notices" "$out_dir"
cp "$binary" "$dir/tighten$exe"
chmod +x "$dir/tighten$exe"
cp "$root/README.md" "$dir/"
for f in "$root"/LICENSE* "$root"/NOTICE*; do
    if [ -f "$f" ]; then cp "$f" "$dir/"; fi
done
cp "$root/data/terraform-aws-security-group/NOTICE.md" "$dir/notices/terraform-aws-security-group.md"
"$dir/tighten$exe" completions bash >"$dir/completions/tighten.bash"
"$dir/tighten$exe" completions zsh >"$dir/completions/_tighten"
"$dir/tighten$exe" completions fish >"$dir/completions/tighten.fish"
"$dir/tighten$exe" completions powershell >"$dir/completions/_tighten.ps1"
"$dir/tighten$exe" man --dir "$dir/man/man1"

out_dir=$(cd "$out_dir" && pwd)
if [ -n "$exe" ]; then
    archive="$out_dir/$name.zip"
    rm -f "$archive"
    (cd "$stage" && 7z a -tzip -bso0 -bsp0 "$archive" "$name")
else
    archive="$out_dir/$name.tar.gz"
    tar -czf "$archive" -C "$stage" "$name"
fi
echo "$archive"
