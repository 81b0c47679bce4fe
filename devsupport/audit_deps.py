"""`make audit`: pip-audit over the pinned tree; fails on a known vulnerability, never silently passes.

pip-audit asks a vulnerability service (PyPI's JSON API by default) about every pin in
requirements.lock. Where that service cannot be reached (a machine that sees only a package
mirror), pip-audit checks nothing; this says so loudly and passes, unless AUDIT_STRICT=1, where
an audit that checked nothing fails too. A found vulnerability always fails.

Usage: python devsupport/audit_deps.py [requirements.lock]
"""
from __future__ import annotations

import json
import os
import subprocess  # nosec B404
import sys


def run_pip_audit(lock: str) -> tuple[dict | None, str]:
    """pip-audit's JSON report on the lock file (None when it did not finish), and its stderr."""
    command = [sys.executable, "-m", "pip_audit", "--requirement", lock, "--no-deps", "--disable-pip",
               "--format", "json", "--progress-spinner", "off"]
    # bandit: a fixed argv (this Python, pip-audit, our lock file), no shell.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # nosec B603
    try:
        return json.loads(done.stdout), done.stderr
    except ValueError:
        return None, done.stderr or done.stdout


def main(argv: list[str]) -> int:
    """Audit; 1 on a vulnerability (or, with AUDIT_STRICT=1, on an audit that checked nothing)."""
    lock = argv[1] if len(argv) > 1 else "requirements.lock"
    strict = os.environ.get("AUDIT_STRICT", "") in {"1", "true", "yes"}
    report, errors = run_pip_audit(lock)
    if report is None:
        last = (errors.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: NOT AUDITED: pip-audit did not finish ({last[:300]})")
        return 1 if strict else 0
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"pip-audit: VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixes})")
    audited = len(deps) - len(skipped)
    if skipped:
        reasons = {d["skip_reason"].split(":")[0] for d in skipped}
        print(f"pip-audit: {len(skipped)} of {len(deps)} pins NOT AUDITED ({'; '.join(sorted(reasons))[:200]})")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} vulnerable pin(s) in {lock}: bump them")
        return 1
    if audited == 0:
        print("pip-audit: the vulnerability service could not be reached from this machine, so nothing was "
              "checked" + ("; AUDIT_STRICT=1 makes that a failure" if strict else " (AUDIT_STRICT=1 fails here)"))
        return 1 if strict else 0
    print(f"pip-audit: {audited} pins checked, no known vulnerability")
    return 1 if strict and skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
