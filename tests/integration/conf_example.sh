#!/bin/bash
# conf_example.sh - the example file is what the key table says, and parses.
. "$(dirname "$0")/lib.sh"

example="$top_srcdir/conf/mxbypass-milter.conf"
"$top_builddir/milter/genconf" > "$T/generated.conf" || fail "genconf failed"
diff -u "$example" "$T/generated.conf" \
	|| fail "conf/mxbypass-milter.conf differs from the key table: run make conf-update"
pass "example file matches the key table"

"$MILTER" -n -c "$example" || fail "-n rejects the example file"
pass "example file passes -n"

# Every key with a default, uncommented, must parse to a valid file.
awk '/^# Default: none/ { skip = 1; print; next }
     /^#[A-Z][A-Za-z0-9]* / && !skip { sub(/^#/, ""); print; next }
     { skip = 0; print }' "$example" > "$T/uncommented.conf"
n=$(grep -c '^[A-Z]' "$T/uncommented.conf")
[ "$n" -ge 30 ] || fail "only $n keys uncommented"
"$MILTER" -n -c "$T/uncommented.conf" || fail "the example defaults do not parse"
pass "all $n defaults of the example file, uncommented, pass -n"
