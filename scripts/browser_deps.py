"""Make sure the browser tests can run: Debian's chromium (Playwright's own browser download cannot work offline).

Called by `make test`. Installs `chromium` with apt-get when it is missing and we are root. Where that is not
possible it prints a loud notice: the browser tests then skip with that reason - except in CI (CI=true),
where they fail instead, so CI can never go green without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(">> installing Debian's chromium for the browser tests (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        ok = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0 and subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"], env=env).returncode == 0
        if ok and os.path.exists(CHROMIUM):
            return 0
    msg = (f"NOTICE: {CHROMIUM} is missing and could not be installed (need root and apt-get). The browser tests "
           "(tests/test_browser.py) will be SKIPPED. Install Debian's chromium to run them.")
    print("\n" + "!" * 100 + "\n" + msg + "\n" + "!" * 100 + "\n", file=sys.stderr)
    return 1 if ci else 0


if __name__ == "__main__":
    sys.exit(main())
