"""Run every benchmark (or the one named): python bench/run.py [name]."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run.py", "common.py"}


def main() -> int:
    only = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_"))
    if only:
        scripts = [p for p in scripts if p.stem == only]
        if not scripts:
            print(f"no benchmark named {only}; have: {', '.join(p.stem for p in HERE.glob('*.py') if p.name not in SKIP)}")
            return 2
    failed = 0
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        failed += subprocess.call([sys.executable, str(script)], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
