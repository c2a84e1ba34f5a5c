"""Install the pinned deployment tools (deploy/package-lock.json) with `npm ci`, if npm exists.

Without Node.js and npm this says so and exits 0: the tests that need the tools skip, naming why.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent


def main() -> int:
    """Run `npm ci` in deploy/; 0 when there is no npm to run."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("deploy/install_tools.py: node or npm not found; the offline deployment checks will skip",
              file=sys.stderr)
        return 0
    return subprocess.call([npm, "ci", "--prefix", str(DEPLOY), "--no-audit", "--no-fund"])


if __name__ == "__main__":
    sys.exit(main())
