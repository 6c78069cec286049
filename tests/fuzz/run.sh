#!/bin/bash
# Run the libFuzzer harnesses (make fuzz-build makes build/fuzz/fuzz_NAME):
#   run.sh fuzz SECONDS NAME...  each for SECONDS on its seeds (tests/fuzz/corpus/NAME) and a
#                                corpus kept in build/fuzz/corpus/NAME (make fuzz)
#   run.sh check SECONDS NAME    one KTAP suite: replay the committed seeds and regression
#                                inputs (tests/fuzz/regress/NAME: what the fuzzers found, kept
#                                apart from the generated seeds), then fuzz for SECONDS from
#                                them in a scratch corpus (tests/check.sh)
# A crash, sanitizer report, leak, timeout (10 s per input) or out-of-memory (2 GB) stops the
# harness; libFuzzer writes the input to build/fuzz/crashes/NAME-<kind>-<sha1>.
set -u
cd "$(dirname "$0")/../.."
B=build/fuzz
mode=$1 secs=$2
shift 2
mkdir -p $B/crashes $B/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# fuzz NAME SECONDS CORPUS: libFuzzer from CORPUS (written) and the seeds (read); log in
# $B/logs/NAME.log; prints "RUNS COV FT" of its last status line.
fuzz() {
	local name=$1 log=$B/logs/$1.log rc
	$B/fuzz_$name -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$B/crashes/$name- "$3" tests/fuzz/corpus/$name $(regress $name) \
		>"$log" 2>&1
	rc=$?
	awk '/^#[0-9]+/ && / cov: / { r = substr($1, 2); for (i = 2; i < NF; i++) {
		if ($i == "cov:") c = $(i + 1); if ($i == "ft:") f = $(i + 1) } }
	     /number_of_executed_units:/ { r = $2 }
	     END { print r + 0, c + 0, f + 0 }' "$log"
	return $rc
}

# The regression inputs of NAME, if it has any.
regress() {
	[ -d tests/fuzz/regress/$1 ] && echo tests/fuzz/regress/$1
}

case $mode in
fuzz)
	fail=0
	for name in "$@"; do
		mkdir -p $B/corpus/$name
		if stats=$(fuzz "$name" "$secs" $B/corpus/$name); then
			echo "fuzz_$name: ok, $secs s: runs cov ft $stats"
		else
			echo "fuzz_$name: FAILED after runs cov ft $stats; log $B/logs/$name.log"
			grep -E '^model|^check|ERROR|runtime error|Test unit written' $B/logs/$name.log | head -n 5
			fail=1
		fi
	done
	exit $fail
	;;
check)
	name=$1
	echo "KTAP version 1"
	echo "1..2"
	inputs=$(find tests/fuzz/corpus/$name $(regress $name) -type f | sort)
	# shellcheck disable=SC2086 # the paths have no spaces
	if $B/fuzz_$name $inputs >$B/logs/$name-replay.log 2>&1; then
		echo "ok 1 fuzz_$name replays its $(echo "$inputs" | wc -l) seeds and regression inputs"
	else
		sed 's/^/# /' $B/logs/$name-replay.log | tail -n 40
		echo "not ok 1 fuzz_$name replays its seeds and regression inputs"
	fi
	work=$(mktemp -d $B/work-$name.XXXXXX)
	if stats=$(fuzz "$name" "$secs" "$work"); then
		echo "ok 2 fuzz_$name for $secs s (runs cov ft: $stats)"
	else
		grep -E '^model|^check|ERROR|runtime error|SUMMARY|Test unit written|^    #' $B/logs/$name.log |
			head -n 40 | sed 's/^/# /'
		echo "not ok 2 fuzz_$name for $secs s (runs cov ft: $stats; log $B/logs/$name.log)"
	fi
	rm -rf "$work"
	;;
*)
	echo "usage: $0 fuzz|check SECONDS NAME..." >&2
	exit 2
	;;
esac
