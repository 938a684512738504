#!/usr/bin/env bash
# Times `tighten lint` and `checkov -d` on the same directory, side by side.
#
#   bench/lint_vs_checkov.sh [DIR] [RUNS]
#
# DIR defaults to ../shared/corpus (next to the repository), RUNS to 5; the median wall time of
# the runs is printed. checkov is taken from $CHECKOV, else from PATH; install it with
#   python3 -m venv /tmp/ckv && /tmp/ckv/bin/pip install checkov && export CHECKOV=/tmp/ckv/bin/checkov
# tighten is built in release mode first. checkov runs twice: with all its Terraform checks
# (what `checkov -d` does by default) and restricted to the five checks tighten's static
# checks correspond to.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$here/../shared/corpus}"
runs="${2:-5}"
checkov="${CHECKOV:-checkov}"

command -v "$checkov" >/dev/null || { echo "checkov not found (set CHECKOV)" >&2; exit 2; }
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
tighten="$here/target/release/tighten"

# Median wall-clock seconds of RUNS runs of the command.
median() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

files=$(find "$dir" -name '*.tf' -not -path '*/.terraform/*' | wc -l)
t_tighten=$(median "$tighten" lint "$dir" --format json --fail-on never)
t_checkov=$(median "$checkov" -d "$dir" --framework terraform --quiet --compact -o json --skip-download)
t_checkov5=$(median "$checkov" -d "$dir" --framework terraform --quiet --compact -o json --skip-download \
  --check CKV_AWS_23,CKV_AWS_24,CKV_AWS_25,CKV_AWS_260,CKV_AWS_277)

echo "directory: $dir ($files .tf files), median of $runs runs"
printf '%-40s %8ss\n' "tighten lint" "$t_tighten"
printf '%-40s %8ss  (%sx)\n' "checkov -d (all terraform checks)" "$t_checkov" "$(echo "$t_checkov / $t_tighten" | bc -l | xargs printf '%.0f')"
printf '%-40s %8ss  (%sx)\n' "checkov -d --check (5 equivalents)" "$t_checkov5" "$(echo "$t_checkov5 / $t_tighten" | bc -l | xargs printf '%.0f')"
