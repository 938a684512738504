#!/usr/bin/env bash
# pre-commit hook `tighten-lint` (.pre-commit-hooks.yaml): runs `tighten lint DIR` once for
# every directory that holds a changed .tf or .tf.json file, the pre-commit-terraform
# convention. Arguments that are not such files go to tighten (`args: [--fail-on=error]`);
# TIGHTEN_DB in the environment adds the evidence checks. Exits with the worst exit code.
# Needs `tighten` on PATH: a release binary, or `cargo install --locked --path .`.
set -uo pipefail

if ! command -v tighten >/dev/null 2>&1; then
    echo "tighten-lint: tighten is not on PATH; install a release binary or run" \
        "'cargo install --locked --path .' in a checkout of tighten" >&2
    exit 2
fi

args=()
dirs=()
for a in "$@"; do
    case "$a" in
    *.tf | *.tf.json)
        if [ -f "$a" ]; then
            dirs+=("$(dirname -- "$a")")
            continue
        fi
        ;;
    esac
    args+=("$a")
done

worst=0
seen=$'\n'
for d in ${dirs[@]+"${dirs[@]}"}; do
    case "$seen" in *$'\n'"$d"$'\n'*) continue ;; esac
    seen+="$d"$'\n'
    status=0
    tighten lint "$d" ${args[@]+"${args[@]}"} || status=$?
    [ "$status" -gt "$worst" ] && worst=$status
done
exit "$worst"
