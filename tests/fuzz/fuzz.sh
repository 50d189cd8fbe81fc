#!/bin/sh
# fuzz.sh - run libFuzzer harnesses, each for a while on a copy of its corpus
#
# usage: fuzz.sh SRCDIR BUILDDIR NAME...
#	make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS="dns config"] [FUZZ_FLAGS=...]
#		  [FUZZ_STRICT=1]
#
# For each NAME: tests/fuzz/corpus/NAME is copied to BUILDDIR/tests/fuzz/
# work/NAME/corpus (the source tree is never written), fuzz_NAME runs for
# FUZZ_SECONDS there, and its crash, leak and timeout inputs land in
# work/NAME/artifacts. The log is work/NAME/log. One harness at a time;
# a crash stops that harness only. Ends with a table (also in
# work/summary.txt) and exits 1 if any harness found something.
#
# Inputs that would only find an open bug again (RESULTS.md) are skipped
# (MXB_FUZZ_SKIP_OPEN); FUZZ_STRICT=1 checks everything.
#
# A new crashing input goes to tests/fuzz/crashers/NAME/ (open-* while
# the bug it shows is not fixed), and into EXTRA_DIST in fuzz.am.

set -u
src=$1
build=$2
shift 2
secs=${FUZZ_SECONDS:-60}
flags=${FUZZ_FLAGS:-}
work=$build/tests/fuzz/work
status=0
if [ -z "${FUZZ_STRICT:-}" ]; then
	MXB_FUZZ_SKIP_OPEN=1
	export MXB_FUZZ_SKIP_OPEN
fi

mkdir -p "$work" || exit 1
summary=$work/summary.txt
printf '%-10s %7s %12s %8s %15s %7s  %s\n' fuzzer seconds executions exec/s \
	"corpus (seeds)" crashes log > "$summary"

for name in "$@"; do
	bin=$build/tests/fuzz/fuzz_$name
	dir=$work/$name
	if [ ! -x "$bin" ]; then
		echo "fuzz.sh: $bin not built" >&2
		status=1
		continue
	fi
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts" || exit 1
	cp "$src/tests/fuzz/corpus/$name"/* "$dir/corpus/" || exit 1
	seeds=$(ls "$dir/corpus" | wc -l | tr -d ' ')
	# room for the largest meaningful input of each
	case $name in
	dns) maxlen=8192 ;;
	config) maxlen=4096 ;;
	*) maxlen=1100 ;;
	esac
	dict=
	[ -f "$src/tests/fuzz/$name.dict" ] && dict=-dict=$src/tests/fuzz/$name.dict
	echo "fuzz.sh: fuzz_$name for ${secs}s, log in $dir/log" >&2
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -print_final_stats=1 -max_len=$maxlen -timeout=10 \
		-artifact_prefix="$dir/artifacts/" $dict $flags "$dir/corpus" > "$dir/log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n 1)
	size=$(ls "$dir/corpus" | wc -l | tr -d ' ')
	found=$(ls "$dir/artifacts" | wc -l | tr -d ' ')
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
		status=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+:[0-9]+:)' "$dir/log" | head -n 5 >&2
	fi
	printf '%-10s %7s %12s %8s %15s %7s  %s\n' "$name" "$took" "${execs:-?}" "${rate:-?}" \
		"$size ($seeds)" "$found" "$dir/log" >> "$summary"
done
cat "$summary"
exit $status
