# shellcheck shell=bash
# Shared by the action's step scripts (sourced, never run): outputs, annotations, failures, list
# inputs. Every value reaches the scripts as an environment variable (action.yml maps each input
# with `env:`), and none is ever evaluated as shell code. Bash 3.2 (macOS /bin/bash) is enough.

# Sets step output NAME to VALUE (one line: a path, a number, a word).
set_output() {
    case "$2" in
    *$'\n'* | *$'\r'*) die "output $1 would span lines" ;;
    esac
    printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
}

# A workflow command's message, escaped as the runner expects (`%`, CR, LF).
escape_data() {
    local s=${1//'%'/%25}
    s=${s//$'\r'/%0D}
    printf '%s' "${s//$'\n'/%0A}"
}

notice() { printf '::notice title=tighten::%s\n' "$(escape_data "$*")"; }
warning() { printf '::warning title=tighten::%s\n' "$(escape_data "$*")"; }

# Fails the step with an error annotation (exit 2, tighten's code for a tool error).
die() {
    printf '::error title=tighten::%s\n' "$(escape_data "$*")"
    exit 2
}

# Sets TIGHTEN to the binary install.sh put on PATH.
find_tighten() {
    # shellcheck disable=SC2034 # TIGHTEN is this function's result
    TIGHTEN=$(command -v tighten 2>/dev/null) || die "tighten is not on PATH: did the install step run?"
}

# Splits a list input (one item per line; blank lines and `#` comments skipped; surrounding
# blanks and CR trimmed) into the array LIST.
read_list() {
    LIST=()
    local line
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        case "$line" in
        "" | "#"*) continue ;;
        esac
        LIST+=("$line")
    done <<<"$1"
}

# Splits the `args` input on blanks into the array EXTRA, without globbing or expansion.
read_args() {
    EXTRA=()
    [ -n "$1" ] || return 0
    # shellcheck disable=SC2034 # EXTRA is this function's result
    read -r -a EXTRA <<<"$1"
}

# Checks that $2 (the value of input $1) is one of the remaining words.
one_of() {
    local name=$1 value=$2 allowed
    shift 2
    for allowed in "$@"; do
        [ "$value" = "$allowed" ] && return 0
    done
    die "input $name: expected one of $*, got '$value'"
}
