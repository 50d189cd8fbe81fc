#!/bin/bash
# docs.sh - every Markdown document a file of the tree cites is in the
# tree: a clone, or the distribution (make distcheck runs this from the
# tarball's files), holds what its comments and documents point to.
#
# The files: what git tracks when top_srcdir is a git checkout of its
# own, else every file under top_srcdir but the build's (autotools
# output, build directories, logs). A citation is a word ending in ".md";
# with a '/' it is a path, from the top or from the citing file's
# directory; without one, or as an absolute (installed) path, any file of
# that name in the tree will do.
. "$(dirname "$0")/lib.sh"

top=$(cd "$top_srcdir" && pwd -P)

# tree_files - the files to read and to find, NUL-separated, relative to $top
tree_files() {
	if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ]; then
		git -C "$top" ls-files -z | while IFS= read -r -d '' f; do
			if [ -f "$top/$f" ]; then printf '%s\0' "$f"; fi
		done
	else
		(cd "$top" && find . \( -name .git -o -name autom4te.cache -o -name build-aux \
			-o -name m4 -o -path ./build -o -name '_build' -o -name '_inst' \) -prune \
			-o -type f ! -name configure ! -name aclocal.m4 ! -name Makefile.in \
			! -name Makefile ! -name config.status ! -name config.log ! -name '*.log' \
			! -name '*.trs' ! -name '*.o' ! -name '*.a' -printf '%P\0')
	fi
}

declare -A path base
files=()
while IFS= read -r -d '' f; do
	files+=("$f")
	path[$f]=1
	base[${f##*/}]=1
done < <(tree_files)
[ ${#files[@]} -gt 50 ] || fail "only ${#files[@]} files found under $top"
[ -n "${path[README.md]:-}" ] || fail "README.md is not among the files of $top"

cited=0 bad=0 citing=0
declare -A seen
while IFS= read -r -d '' f && IFS= read -r name; do
	case $name in //*) continue ;; esac	# a URL's path
	cited=$((cited + 1))
	[ -n "${seen[$f]:-}" ] || { seen[$f]=1; citing=$((citing + 1)); }
	case $name in
	/*)	# an installed path (/usr/share/doc/...): the file it installs
		[ -n "${base[${name##*/}]:-}" ] && continue ;;
	*/*)
		from_top=$(realpath -m --relative-to="$top" "$top/$name")
		from_dir=$(realpath -m --relative-to="$top" "$top/$(dirname "$f")/$name")
		[ -n "${path[$from_top]:-}" ] || [ -n "${path[$from_dir]:-}" ] && continue ;;
	*)
		[ -n "${base[$name]:-}" ] && continue ;;
	esac
	echo "$f: cites $name, which is not in the tree" >&2
	bad=$((bad + 1))
done < <(cd "$top" && grep -IoZE '[A-Za-z0-9_./-]*[A-Za-z0-9_-][.]md\b' -- "${files[@]}")

[ "$bad" -eq 0 ] || fail "$bad citation(s) of Markdown files that are not in the tree"
[ "$cited" -gt 0 ] || fail "no citation of a Markdown file found: the search is broken"
pass "every Markdown file cited in ${#files[@]} files is in the tree ($cited citations in $citing files)"
for d in docs/design.md docs/architecture.md docs/testing.md; do
	[ -n "${path[$d]:-}" ] || fail "$d is missing from the tree"
done
pass "docs/design.md, docs/architecture.md and docs/testing.md are in the tree"
