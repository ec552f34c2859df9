#!/usr/bin/env bash
# scripts/fuzz.sh — build the fuzz targets in fuzz/ (cargo-fuzz, nightly) and run each one.
#
#   scripts/fuzz.sh [SECONDS]           every target for SECONDS (default 20): -max_total_time
#   scripts/fuzz.sh --runs N [SECONDS]  a campaign: every target to N executions (-runs=N),
#                                       each stopped after SECONDS if given
#   FUZZ_TARGETS="wsd sadp" scripts/fuzz.sh …   only these targets
#   FUZZ_SKIP_BUILD=1 scripts/fuzz.sh …          run the targets as they were last built
#   FUZZ_LIBFUZZER_ARGS="-max_len=4096" …       extra libFuzzer flags for this run (the
#                                                ledger's last column records them)
#
# A campaign (--runs) adds one row per target to fuzz/campaigns.tsv: when, the commit,
# the target, its executions and seconds, how it ended, the inputs its corpus held
# at the start and any extra libFuzzer flags. A target's campaign may be several runs, each starting from the corpus
# the earlier ones left (fuzz/corpus/<target>, kept on this machine while it lasts):
# their executions add up; README "Fuzzing" sums the rows.
#
# Prints, per target, the executions, the seconds and whether it crashed; the last line
# is cargo's "test result:" line (one test per target), so scripts/test.sh counts it. Exits
# non-zero when a target crashed; the input is in fuzz/artifacts/<target>/ (minimise it
# with `cargo +nightly fuzz tmin --sanitizer none --codegen-units 16 <target> <file>`, the
# flags of the build below, and keep it under fuzz/crashes-found/<target>/).
# Skipped, with a message and exit 0, without a nightly toolchain; cargo-fuzz is installed
# from crates.io into .ci-tools/ when it is missing.
#
# Seeds are put together at run time in fuzz/corpus/<target>/ (not tracked): the captured
# camera answers in ../shared/fixtures (PORTCULLIS_SHARED), the project's own fixtures
# (built-in baselines, the report snapshot) and fuzz/seeds/<target>/. The targets build
# without a sanitizer (the product forbids unsafe code; the build and the runs are several
# times faster); debug assertions and overflow checks stay on.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${PORTCULLIS_SHARED:-$ROOT/../shared}
FIXTURES=$SHARED/fixtures
export CARGO_TERM_COLOR=never

RUNS=""
if [ "${1:-}" = "--runs" ]; then
  RUNS=${2:?"--runs needs a number of executions"}
  shift 2
  SECS=${1:-}
else
  SECS=${1:-20}
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly); cargo-fuzz needs one"
  exit 0
fi
export PATH="$ROOT/.ci-tools/bin:$PATH"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz from crates.io into .ci-tools/"
  if ! cargo install cargo-fuzz --locked --root "$ROOT/.ci-tools" --quiet; then
    echo "fuzz: skipped: cargo-fuzz is not installed and could not be installed"
    exit 0
  fi
fi

# Every cargo-fuzz command on these targets must use the same flags, or it rebuilds
# everything (`cargo +nightly fuzz tmin $FUZZ_FLAGS <target> <input>`).
FUZZ_FLAGS="--sanitizer none --codegen-units 16"
TARGETS=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_targets/*.rs; do basename "$f" .rs; done)}
HOST=$(rustc +nightly -vV | sed -n 's/^host: //p')
BIN=fuzz/target/$HOST/release

t0=$SECONDS
# The ledger's commit: the one the targets are built from, taken before the build, so a
# commit landing during a long campaign does not claim it (with FUZZ_SKIP_BUILD: the
# commit at the start, the last build's if nothing landed since). '+changes': built
# with uncommitted changes to the code under test.
BUILT_FROM=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no -- crates fuzz/fuzz_targets fuzz/src 2>/dev/null)" ] || BUILT_FROM="$BUILT_FROM+changes"
mkdir -p fuzz/artifacts
# One build of every target (they share one compilation of the dependencies). Sixteen
# codegen units instead of cargo-fuzz's one: a cold build in about two thirds of the time.
# shellcheck disable=SC2086
if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
  if ! cargo +nightly fuzz build $FUZZ_FLAGS >fuzz/artifacts/build.log 2>&1; then
    grep -v -E '^\s+(Compiling|Downloaded|Downloading|Updating|Locking|Adding)' fuzz/artifacts/build.log | tail -40
    echo "fuzz: the build failed (fuzz/artifacts/build.log)" >&2
    exit 1
  fi
  echo "fuzz: built the targets in $((SECONDS - t0)) s"
fi
for t in $TARGETS; do
  [ -x "$BIN/$t" ] || { echo "fuzz: no $BIN/$t (FUZZ_SKIP_BUILD without a build?)" >&2; exit 1; }
done

if [ ! -d "$FIXTURES" ]; then
  echo "fuzz: warning: $FIXTURES is missing; seeding from fuzz/seeds and the project's fixtures only" >&2
fi

# Copy files (not directories) into a corpus directory.
seed() {
  local into=$1; shift
  for f in "$@"; do
    [ -f "$f" ] && cp -n "$f" "$into/" 2>/dev/null || true
  done
}

# The scripted device's input (fuzz/src/lib.rs): answers separated by "\n----\n". One seed
# per device in the fixtures: its captured answers in turn.
device_seeds() {
  local into=$1 prefix files
  for dir in "$FIXTURES/onvif" "$FIXTURES/isapi"; do
    [ -d "$dir" ] || continue
    for prefix in $(ls "$dir" | sed -E 's/-(Get|Set|Create|Delete|Unknown|System|Event|Streaming).*//' | sort -u); do
      files=("$dir/$prefix"-*)
      [ -f "${files[0]}" ] || continue
      {
        local first=1
        for f in "${files[@]}"; do
          [ $first -eq 1 ] || printf '\n----\n'
          first=0
          cat "$f"
        done
      } >"$into/fixtures-$(basename "$dir")-$prefix"
    done
  done
}

corpus() {
  local t=$1 c=fuzz/corpus/$1
  mkdir -p "$c"
  seed "$c" fuzz/seeds/"$t"/*
  case $t in
    wsd) seed "$c" "$FIXTURES"/wsd/* ;;
    sadp) seed "$c" "$FIXTURES"/wsd/* ;; # no SADP captures exist: other discovery XML
    isapi_wire) seed "$c" "$FIXTURES"/isapi/* ;;
    onvif_wire | onvif_fault) seed "$c" "$FIXTURES"/onvif/* ;;
    xml_splice) seed "$c" "$FIXTURES"/isapi/* "$FIXTURES"/onvif/* "$FIXTURES"/wsd/* fuzz/seeds/isapi_wire/* ;;
    baseline) seed "$c" crates/core/baselines/*.toml ;;
    report_verify) seed "$c" crates/report/tests/snapshots/*.json ;;
    device)
      seed "$c" "$FIXTURES"/isapi/* fuzz/seeds/isapi_wire/*
      device_seeds "$c"
      ;;
  esac
}

# One row of fuzz/campaigns.tsv: a campaign run of one target.
ledger() {
  local file=fuzz/campaigns.tsv
  [ -f "$file" ] || printf 'date\tcommit\ttarget\texecutions\tseconds\toutcome\tcorpus_at_start\tflags\n' >"$file"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$BUILT_FROM" \
    "$1" "$2" "$3" "$4" "$5" "${EXTRA_ARGS[*]:--}" >>"$file"
}

# Extra libFuzzer flags, word-split on purpose (e.g. -max_len=4096 for a target whose
# long inputs other targets already cover).
read -r -a EXTRA_ARGS <<<"${FUZZ_LIBFUZZER_ARGS:-}"

crashed=0
passed=0
for t in $TARGETS; do
  corpus "$t"
  corpus_start=$(find fuzz/corpus/"$t" -maxdepth 1 -type f | wc -l)
  mkdir -p fuzz/artifacts/"$t"
  args=(-artifact_prefix=fuzz/artifacts/"$t"/ -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 "${EXTRA_ARGS[@]}")
  if [ -n "$RUNS" ]; then
    args+=(-runs="$RUNS")
    [ -z "$SECS" ] || args+=(-max_total_time="$SECS")
  else
    args+=(-max_total_time="$SECS")
  fi
  log=fuzz/artifacts/"$t"/last-run.log
  mark=fuzz/artifacts/"$t"/.run-start
  touch "$mark"
  start=$(date +%s%N)
  # The targets' scratch directories (a site CA and its vault, a history) go with the run.
  scratch=$(mktemp -d)
  set +e
  TMPDIR=$scratch "$BIN/$t" "${args[@]}" fuzz/corpus/"$t" >"$log" 2>&1
  rc=$?
  set -e
  rm -rf "$scratch"
  ms=$((($(date +%s%N) - start) / 1000000))
  secs=$((ms / 1000)).$((ms % 1000 / 100))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # What libFuzzer kept from this run (findings of earlier runs stay where they are).
  found=$(find fuzz/artifacts/"$t" -maxdepth 1 -type f -newer "$mark" \
    \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | sort)
  [ -z "$RUNS" ] || echo "fuzz: $t: nice -n $(nice) $BIN/$t ${args[*]} fuzz/corpus/$t"
  outcome=ok
  if [ "$rc" -eq 72 ] && [ -z "$found" ] && grep -q 'libFuzzer: run interrupted' "$log"; then
    outcome=interrupted
  elif [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    outcome=crashed
  elif [ -n "$RUNS" ] && [ "${execs:-0}" -lt "$RUNS" ]; then
    outcome="time cap" # stopped by SECONDS before N executions, nothing found
  fi
  [ -z "$RUNS" ] || ledger "$t" "${execs:-0}" "$secs" "$outcome" "$corpus_start"
  # 72 is libFuzzer's exit on SIGINT (-interrupted_exitcode): stopped by hand, found nothing.
  if [ "$outcome" = interrupted ]; then
    printf 'fuzz: %-14s %12s execs %8s s  interrupted (nothing found)\n' "$t" "${execs:-?}" "$secs"
    echo "fuzz: stopped by hand; the targets after $t were not run"
    break
  fi
  if [ "$outcome" = crashed ]; then
    crashed=$((crashed + 1))
    printf 'fuzz: %-14s %12s execs %8s s  CRASHED (exit %s)\n' "$t" "${execs:-?}" "$secs" "$rc"
    grep -E -m 1 -A 1 'panicked at' "$log" | sed 's/^/fuzz:     /' || true
    grep -E -m 2 'ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/fuzz:     /' || true
    for f in $found; do echo "fuzz:     input: $f"; done
  else
    passed=$((passed + 1))
    printf 'fuzz: %-14s %12s execs %8s s  ok\n' "$t" "${execs:-?}" "$secs"
  fi
done

echo "fuzz: $((passed + crashed)) targets, $crashed crashed, $((SECONDS - t0)) s in all (logs: fuzz/artifacts/<target>/last-run.log)"
status=ok
[ "$crashed" -eq 0 ] || status=FAILED
echo "test result: $status. $passed passed; $crashed failed; 0 ignored (fuzz targets)"
[ "$crashed" -eq 0 ]
