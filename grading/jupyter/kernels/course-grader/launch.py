"""Start the course's grading kernel: ``grading.sandbox.main`` (bubblewrap + resource limits around ipykernel)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repository root, for `import grading`

from grading.sandbox import main  # noqa: E402

if __name__ == "__main__":
    main()
