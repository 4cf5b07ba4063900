#!/usr/bin/env bash
# Audit the installed dependencies (the virtualenv `make setup` made: the project's pins and what
# they pull in, the project itself excluded) against known vulnerabilities, with pip-audit.
#
# Exit 1 on any known vulnerability, and on packages a service could not audit while it audited
# others (pip-audit --strict's rule: nothing may pass unaudited). When no vulnerability service
# can be reached at all (no network; a registry mirror that does not serve PyPI's per-version
# JSON, where every package comes back "not found on PyPI"; OSV unreachable), say so on stderr,
# "dependency audit could not run: <reason>", and exit 0: CI audits wherever it can, and never
# passes silently. PyPI's service is tried first, then OSV's.
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${VENV:-.venv}/bin"
timeout="${AUDIT_TIMEOUT:-15}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$bin/pip-audit" ]; then
    echo "dependency audit: $bin/pip-audit is missing (make setup installs it)" >&2
    exit 2
fi

# Reads one pip-audit run and prints what it means; exit 0 clean, 1 vulnerable or partly
# audited, 2 pip-audit failed on its own, 3 the service could not be reached.
verdict() {
    "$bin/python" - "$@" <<'PYTHON'
import json
import sys

service, status, report_path, stderr_path = sys.argv[1:]
stderr = open(stderr_path).read().strip()
try:
    report = json.load(open(report_path))
except ValueError:
    last = stderr.splitlines()[-1] if stderr else f"pip-audit exited {status} with no report"
    unreachable = ("ConnectionError", "NameResolutionError", "Max retries", "timed out", "Timeout")
    print(f"{service}: {last[:300]}")
    sys.exit(3 if any(word in stderr for word in unreachable) else 2)

dependencies = report["dependencies"]
vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = len(dependencies) - len(skipped)
for d in vulnerable:
    for vuln in d["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
        print(f"{d['name']} {d['version']}: {vuln['id']} (fixed in {fixed})")
if vulnerable:
    sys.exit(1)
if skipped and not audited:
    print(f"{service}: knows none of the {len(skipped)} installed packages ({skipped[0]['skip_reason']})")
    sys.exit(3)
if skipped:
    print(f"{service}: {len(skipped)} packages could not be audited:")
    for d in skipped:
        print(f"  {d['skip_reason']}")
    sys.exit(1)
print(f"{service}: {audited} packages audited, no known vulnerability")
PYTHON
}

reasons=()
for service in pypi osv; do
    "$bin/pip-audit" --vulnerability-service "$service" --format json --progress-spinner off \
        --skip-editable --timeout "$timeout" >"$work/report.json" 2>"$work/stderr.txt"
    status=$?
    message=$(verdict "$service" "$status" "$work/report.json" "$work/stderr.txt")
    case $? in
        0) echo "dependency audit: $message"; exit 0 ;;
        1) echo "dependency audit FAILED:"; echo "$message"; exit 1 ;;
        3) reasons+=("$message") ;;
        *) echo "dependency audit: pip-audit failed: $message" >&2; exit 2 ;;
    esac
done

reason=$(printf '%s; ' "${reasons[@]}")
echo "dependency audit could not run: ${reason%; }" >&2
exit 0
