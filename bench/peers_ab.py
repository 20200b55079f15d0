"""Two checkouts of this project side by side in one run of the peers' harness (../shared/peers):
django-fsm-log, then A, then B, interleaved round by round (fsmlog A B fsmlog A B …), so a
change is compared with its parent in the same minutes of a noisy machine.

    DEVELOPMENT=1 python bench/peers_ab.py OLD_CHECKOUT NEW_CHECKOUT [drive.py options]
    e.g. git worktree add /tmp/old HEAD~1 && (cd /tmp/old && make install)
         DEVELOPMENT=1 python bench/peers_ab.py /tmp/old . --ids 400 --duration 10 --rounds 3

Each checkout needs `make install` (its own .venv). The harness's `service` target is copied
twice from its targets.toml, with the checkout's directory, its own database and token file;
fsmlog is taken as it is. PEERS_DIR names the harness (default ../shared/peers next to this
project), PEERS_WORK where it keeps its venv and logs (as its run.sh).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def config(harness: Path, checkouts: dict[str, Path]) -> str:
    """The harness's targets.toml with fsmlog (its directory made absolute) and one copy of
    the `service` target per checkout, named after it."""
    text = (harness / "targets.toml").read_text(encoding="utf-8")
    head, *blocks = re.split(r"(?m)^\[\[target\]\]\n", text)
    by_name = {_name(block): block for block in blocks}
    fsmlog = by_name["fsmlog"].replace('dir = "fsmlog"', f'dir = "{harness / "fsmlog"}"')
    parts = [head, "[[target]]\n", fsmlog]
    for name, checkout in checkouts.items():
        service = (
            by_name["service"]
            .replace('name = "service"', f'name = "{name}"')
            .replace("$PEERS_PROJECT", str(checkout))
            .replace("peers_service", f"peers_{name}")
            .replace("{work}/service.token", f"{{work}}/{name}.token")
        )
        parts += ["[[target]]\n", service]
    return "".join(parts)


def _name(block: str) -> str:
    found = re.search(r'(?m)^name = "([^"]+)"', block)
    if found is None:
        raise SystemExit(f"a target without a name in the harness's targets.toml: {block[:80]!r}")
    return found.group(1)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    old, new, *options = sys.argv[1:]
    harness = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "peers")).resolve()
    checkouts = {"old": Path(old).resolve(), "new": Path(new).resolve()}
    for checkout in checkouts.values():
        if not (checkout / ".venv" / "bin" / "gunicorn").exists():
            raise SystemExit(f"{checkout}: run `make install` there first")
    with tempfile.TemporaryDirectory(prefix="peers-ab-") as scratch:
        targets = Path(scratch) / "targets.toml"
        targets.write_text(config(harness, checkouts), encoding="utf-8")
        # run.sh sets up the harness's venv and wrk, then hands its arguments to drive.py.
        command = [str(harness / "run.sh"), "--config", str(targets), *options]
        raise SystemExit(subprocess.call(command))


if __name__ == "__main__":
    main()
