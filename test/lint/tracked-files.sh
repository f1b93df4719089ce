#!/usr/bin/env bash
# Fails when a tracked file is something built rather than written: a file
# over 1 MiB, or an executable binary (an ELF, Mach-O or PE header, or the
# executable bit on a file that is not a script starting with "#!").
# Built things belong in the ignored bin/ (see .gitignore). Run by `make lint`.
set -euo pipefail
cd "$(dirname "$0")/../.."

limit=$((1024 * 1024))
bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue # deleted in the work tree, not yet committed
	size=$(stat -c %s -- "$f")
	if [ "$size" -gt "$limit" ]; then
		echo "tracked file over 1 MiB ($size bytes): $f" >&2
		bad=1
	fi
	magic=$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | 4d5a*)
		echo "tracked file is an executable binary: $f" >&2
		bad=1
		continue
		;;
	esac
	if [ -x "$f" ] && [ "$(head -c 2 -- "$f")" != '#!' ]; then
		echo "tracked file is executable but not a script: $f" >&2
		bad=1
	fi
done < <(git ls-files -z)
if [ "$bad" -ne 0 ]; then
	echo "build output belongs in bin/ (git-ignored), never in the repository" >&2
	exit 1
fi
