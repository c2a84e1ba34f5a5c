"""Install Debian's chromium for the browser tests when it is missing and this can (root, with
apt-get); otherwise say why and exit 0, and the tests skip naming the reason. tox -e py runs it
first. Playwright drives this system browser: it never downloads one of its own.

Where it can install one (root, apt-get), a failed install is an error, not a skip: the browser
tests are meant to run there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

#: Where the tests look, in order (CHROMIUM, if set, names the executable).
NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str | None:
    """The system browser's executable, if there is one."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    return next((path for path in map(shutil.which, NAMES) if path), None)


def main() -> int:
    """Make sure a chromium is installed, if this process can install one."""
    found = chromium()
    if found:
        print(f"install_chromium: {found} is installed")
        return 0
    if os.environ.get("CHROMIUM"):
        print(f"install_chromium: CHROMIUM={os.environ['CHROMIUM']} is not an executable on PATH; the browser "
              "tests will skip", file=sys.stderr)
        return 0
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("install_chromium: no chromium, and installing one needs root and apt-get (Debian: "
              "apt-get install -y chromium); the browser tests will skip", file=sys.stderr)
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"install_chromium: {' '.join(command[1:])} failed ({done.returncode}):\n{done.stderr[-2000:]}",
                  file=sys.stderr)
            return 1
    installed = chromium()
    if installed is None:
        print("install_chromium: apt-get installed chromium, yet none is on PATH", file=sys.stderr)
        return 1
    print(f"install_chromium: installed {installed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
