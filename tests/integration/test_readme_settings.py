"""The README's settings table names every environment variable marketplace/config.py reads,
each with the default the code really has."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / "marketplace" / "config.py").read_text()
README = (ROOT / "README.md").read_text()

# os.environ.get("NAME", "default"), os.environ.get("NAME") or "default", _env_bool("NAME", True), ...
READS = re.compile(r'os\.environ\.get\("(?P<name>\w+)"(?:,\s*"(?P<default>[^"]*)")?\)(?:\s*or\s*"(?P<or>[^"]*)")?'
                   r'|_env_bool\("(?P<bool>\w+)",\s*(?P<flag>[^)]*)\)|_env_dates\("(?P<dates>\w+)"\)')


def config_reads() -> dict[str, str | None]:
    """Each variable config.py reads and its literal default (None: unset or computed)."""
    found = {}
    for m in READS.finditer(CONFIG):
        if m["bool"]:
            found[m["bool"]] = {"True": "1", "False": "0"}.get(m["flag"].strip())  # None: computed
        elif m["dates"]:
            found[m["dates"]] = None
        else:
            found[m["name"]] = m["default"] or m["or"] or None
    return found


def settings_rows() -> dict[str, str]:
    """The main settings table: each variable it names, and that row's default cell."""
    table = README.split("### Settings (environment variables, all optional)", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = cells[1].replace("`", "")
    return rows


def test_config_reads_what_this_test_expects():
    reads = config_reads()
    # The parse sees the reads (a new way of reading one would slip past it otherwise).
    assert len(reads) >= 46 and "MARKETPLACE_LIMIT_SIGNIN" in reads and "MARKETPLACE_HOLIDAYS" in reads
    assert "MARKETPLACE_DEV_MAILBOX" in reads and reads["MARKETPLACE_DEV_MAILBOX"] is None
    assert CONFIG.count("os.environ") - CONFIG.count("os.environ.get(name)") == len(
        [1 for m in READS.finditer(CONFIG) if not (m["bool"] or m["dates"])])


def test_every_variable_config_reads_is_in_the_readme_with_its_default():
    rows = settings_rows()
    reads = config_reads()
    missing = sorted(set(reads) - set(rows))
    assert not missing, f"README settings table lacks: {missing}"
    wrong = {name: (default, rows[name]) for name, default in reads.items()
             if default is not None and default not in rows[name]}
    assert not wrong, f"README defaults differ from config.py: {wrong}"


def test_the_readme_names_no_variable_the_code_does_not_read():
    code = "\n".join(p.read_text() for p in (ROOT / "marketplace").rglob("*.py")) + (ROOT / "gunicorn.conf.py").read_text()
    named = set(re.findall(r"`((?:MARKETPLACE|RATELIMIT|MAIL|STRIPE|DATABASE)_[A-Z_]+)", README))
    # config.py's own names (RATELIMIT_SIGNIN ...) are settings, not variables: the README says so only as such.
    unknown = sorted(n for n in named if f'"{n}"' not in code and f"'{n}'" not in code)
    assert not unknown, unknown
    for old in ("RATELIMIT_SIGNIN", "RATELIMIT_REGISTER", "RATELIMIT_BID", "RATELIMIT_INQUIRY"):
        assert f"`{old}`" not in README, old
