"""nbgrader's collect, refusing submissions that were not made by the student they name.

nbgrader's default exchange lets every student write into ``<exchange>/<course>/inbound`` (mode 2733: write and
enter, no listing), and a submission is a folder named ``<student>+<assignment>+<timestamp>[+random]``. Nothing
stops student B from creating ``A+ps1+<a later time>``; collect then takes it as A's latest submission and only logs
a warning (``CollectApp.check_owner``). This subclass ignores any submission folder holding a file or folder not
owned by the student it names, so the latest *genuine* submission is collected.
"""

from __future__ import annotations

import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect


def owned_by(path: str, username: str) -> bool:
    """True when ``path`` and everything in it belong to the OS user ``username``."""
    try:
        uid = pwd.getpwnam(username).pw_uid
    except KeyError:
        return False
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            if os.lstat(name).st_uid != uid:
                return False
    return True


class OwnerCheckedCollect(ExchangeCollect):
    """``nbgrader collect`` that skips forged submissions (and says so in the log)."""

    def _genuine(self, record: dict) -> bool:
        return owned_by(os.path.join(self.inbound_path, record["filename"]), record["username"])

    def _sort_by_timestamp(self, records):
        # genuine submissions first (newest first), so a forged newer one never wins
        for r in records:
            if not self._genuine(r):
                self.log.warning("Ignoring %s: it names %s but holds files of another user (forged submission)",
                                 r["filename"], r["username"])
        return sorted(records, key=lambda r: (self._genuine(r), r["timestamp"]), reverse=True)

    def init_src(self):
        super().init_src()
        self.src_records = [r for r in self.src_records if self._genuine(r)]
