#!/bin/sh
# regress.sh - replay every fuzz harness over its seed corpus and crashers
#
# Run by make check (TESTS). Each harness runs once over all the files of
# tests/fuzz/corpus/NAME and tests/fuzz/crashers/NAME, in one process; a
# broken invariant aborts it, and the driver names the input. The same
# command line works for the plain driver build and for --enable-fuzzing
# (libFuzzer runs the files named and exits).
#
# A crasher named open-* shows a bug of the milter not fixed yet: it must
# still fail. When it passes, the bug is fixed: rename it without "open-"
# so it guards against the bug's return (the test fails until then).
#
# Every corpus and crasher file must be listed in tests/fuzz/fuzz.am
# (EXTRA_DIST), or a tarball would lose it.

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-.}
fuzzdir=$srcdir/tests/fuzz
harnesses=${FUZZ_HARNESSES:-"config dns address sanitize greeting redis"}
failed=0
n=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxb-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }

# now_ms - a clock for the timings (GNU date; seconds elsewhere)
now_ms() {
	t=$(date +%s%N 2>/dev/null)
	case $t in *N|'') echo $(($(date +%s) * 1000)) ;; *) echo $((t / 1000000)) ;; esac
}

for name in $harnesses; do
	bin=$builddir/tests/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		# fuzz_redis needs hiredis (StateBackend redis); a build without it has none
		if [ "$name" = redis ] && ! grep -q '^#define HAVE_HIREDIS 1' "$builddir/autoconfig.h" 2>/dev/null; then
			ok "fuzz_$name: # SKIP built without hiredis"
		else
			not_ok "fuzz_$name: $bin not built"
		fi
		continue
	fi
	# the inputs that must pass: seeds, and crashers of fixed bugs
	: > "$tmp/list"
	for f in "$fuzzdir/corpus/$name"/* "$fuzzdir/crashers/$name"/*; do
		[ -f "$f" ] || continue
		case ${f##*/} in open-*) continue ;; esac
		echo "$f" >> "$tmp/list"
	done
	count=$(wc -l < "$tmp/list" | tr -d ' ')
	if [ "$count" -eq 0 ]; then
		not_ok "fuzz_$name: no inputs in $fuzzdir/corpus/$name"
		continue
	fi
	start=$(now_ms)
	# one process for all; file names are plain (checked below)
	# shellcheck disable=SC2046
	if "$bin" -artifact_prefix="$tmp/" $(cat "$tmp/list") > "$tmp/out" 2>&1; then
		ok "fuzz_$name: $count inputs pass ($(($(now_ms) - start)) ms)"
	else
		sed 's/^/# /' "$tmp/out" | tail -n 40
		not_ok "fuzz_$name: an input broke an invariant (see above)"
	fi
	# open bugs: each must still fail, on its own
	for f in "$fuzzdir/crashers/$name"/open-*; do
		[ -f "$f" ] || continue
		# in a subshell: the shell's "Aborted" goes to the log too
		if ("$bin" -artifact_prefix="$tmp/" "$f"; exit $?) > "$tmp/out" 2>&1; then
			not_ok "fuzz_$name: ${f##*/} passes now: the bug is fixed; rename it without open- (git mv; fuzz.am), drop its skip predicate in fuzz_$name.c, update RESULTS.md"
		elif grep -q 'invariant broken' "$tmp/out"; then
			ok "fuzz_$name: ${f##*/} still fails (open bug, see tests/fuzz/RESULTS.md)"
		else
			sed 's/^/# /' "$tmp/out" | tail -n 20
			not_ok "fuzz_$name: ${f##*/} fails, but not on an invariant (see above)"
		fi
	done
done

# every input is distributed, and has a name make and the shell take as is
missing=
for f in "$fuzzdir"/corpus/*/* "$fuzzdir"/crashers/*/*; do
	[ -f "$f" ] || continue
	rel=tests/fuzz/${f#"$fuzzdir"/}
	case ${f##*/} in
	*[!A-Za-z0-9._-]*) missing="$missing $rel(bad-name)"; continue ;;
	esac
	grep -q "^[[:space:]]*$rel[[:space:]\\]*\$" "$fuzzdir/fuzz.am" || missing="$missing $rel"
done
if [ -z "$missing" ]; then
	ok "every corpus and crasher file is in EXTRA_DIST (tests/fuzz/fuzz.am)"
else
	not_ok "not in EXTRA_DIST of tests/fuzz/fuzz.am:$missing"
fi

echo "1..$n"
exit $failed
