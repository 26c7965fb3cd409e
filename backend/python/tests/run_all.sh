#!/usr/bin/env bash
# Run the tracer's test suite with every CPython 3.8-3.13 on this machine: `python3` on PATH
# and ~/.pyenv/versions/*/bin/python3. Says which interpreters it skipped and why, and ends
# with a table. Exit status: 0 when every suite that ran passed (and at least one ran).
#
#   backend/python/tests/run_all.sh [unittest args...]    e.g. -k seed, or -v
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

candidates=()
if command -v python3 >/dev/null 2>&1; then
    candidates+=("$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)")
fi
results=()
while IFS= read -r dir; do
    [ -d "$dir" ] || continue
    if [ -x "$dir/bin/python3" ]; then
        candidates+=("$dir/bin/python3")
    else
        echo "skip $dir: no bin/python3"
        results+=("$dir|skipped: no bin/python3")
    fi
done < <(ls -d "$HOME"/.pyenv/versions/* 2>/dev/null | sort -V)

declare -A seen=()
ran=0
failed=0
for py in "${candidates[@]}"; do
    real="$(readlink -f "$py")"
    if [ -n "${seen[$real]:-}" ]; then
        continue
    fi
    seen[$real]=1
    info="$("$py" -c 'import sys, platform; v = sys.version_info; print(platform.python_implementation(), "%d.%d.%d" % v[:3], v[0] * 100 + v[1])' 2>/dev/null)"
    if [ -z "$info" ]; then
        echo "skip $py: does not run"
        results+=("$py|skipped: does not run")
        continue
    fi
    read -r impl version num <<<"$info"
    if [ "$impl" != "CPython" ]; then
        echo "skip $py: $impl $version is not CPython"
        results+=("$py ($impl $version)|skipped: not CPython")
        continue
    fi
    if [ "$num" -lt 308 ] || [ "$num" -gt 313 ]; then
        echo "skip $py: CPython $version is outside 3.8-3.13"
        results+=("$py ($version)|skipped: outside 3.8-3.13")
        continue
    fi
    echo "=== CPython $version: $py"
    start=$(date +%s)
    if (cd "$here" && env -u PYTHONUNBUFFERED "$py" -m unittest discover -s . -p 'test_*.py' "$@"); then
        status="passed"
    else
        status="FAILED"
        failed=$((failed + 1))
    fi
    ran=$((ran + 1))
    results+=("$py ($version)|$status in $(($(date +%s) - start)) s")
done

echo
echo "summary:"
for r in "${results[@]}"; do
    printf '  %-50s %s\n' "${r%%|*}" "${r#*|}"
done
[ "$ran" -gt 0 ] && [ "$failed" -eq 0 ]
