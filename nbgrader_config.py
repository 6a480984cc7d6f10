"""nbgrader configuration for the course (instructor side). Run nbgrader commands from the repo root.

Everything graded runs in the sandboxed kernel ``course-grader`` (``grading/sandbox.py``) through the hardened
executor ``grading.execute.SafeExecute``; ``make grade`` (``grading/grade.py``) drives the whole pipeline in
parallel. See ``docs/instructors.md``.
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

_ROOT = os.path.dirname(os.path.abspath(__file__))  # noqa: F821 (traitlets defines __file__ for config files)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)  # `import grading` from nbgrader, the formgrader and grade.py alike

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from grading.execute import SafeExecute  # noqa: E402
from grading.feedback import ClearHiddenTestsAndOutputs  # noqa: E402
from grading.nonfatal import WarningsToNotes  # noqa: E402
from grading.sandbox import KERNEL_NAME, KERNELS_DIR  # noqa: E402

# ---------------------------------------------------------------- course directory layout
c.CourseDirectory.course_id = "finetune-vision-metrics"
c.CourseDirectory.root = "."
# The lessons' nbgrader *source* assignments live in notebooks/<id>/<id>.ipynb.
c.CourseDirectory.source_directory = "notebooks"
# Working folders (all git-ignored): release/ for students, submitted/ collected work, autograded/ executed copies,
# feedback/ HTML for students, gradebook.db the sqlite gradebook. grade.py adds grades.csv, grading_report.csv/.md
# and .grading/ (gradebook backups and the record of what was graded).
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook is nbgrader's default, <root>/gradebook.db, an absolute path. (A relative "sqlite:///gradebook.db"
# would follow the *current* folder, so a command started elsewhere would silently open another gradebook.)
# Data files next to a lesson are never shipped unless listed; lessons import course_lib instead.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# nbgrader runs the `alembic` script of its own environment when it creates a gradebook: make sure it is on PATH
# even when the virtual environment is not activated (`make grade` calls .venv/bin/python directly).
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(p for p in (_bin, os.environ.get("PATH")) if p)

# ---------------------------------------------------------------- the pinned, sandboxed grading kernel
# The kernelspec lives in the repo (grading/jupyter/kernels/course-grader); make Jupyter find it without installing.
_kernels = str(KERNELS_DIR)
if _kernels not in os.environ.get("JUPYTER_PATH", "").split(os.pathsep):
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (_kernels, os.environ.get("JUPYTER_PATH")) if p)
# Always this kernel, whatever the submitted notebook's metadata says.
c.Execute.kernel_name = KERNEL_NAME
# ZeroMQ over Unix sockets: lets the sandbox have no network at all.
c.KernelManager.transport = "ipc"

# ---------------------------------------------------------------- execution
# Lessons shrink their heavy work under NBGRADER_EXECUTION=autograde; the slowest graded cell (a small fine-tuning
# run on 2 CPU cores) takes well under a minute there, so 120 s per cell leaves room for a busy machine.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.SafeExecute.notebook_timeout = 1200        # wall-clock budget for one notebook
c.SafeExecute.max_output_bytes = 1_000_000   # per cell; printing 100 MB keeps a notice instead
c.SafeExecute.max_restarts = 3               # after os._exit, a segfault, the CPU limit or an ignored interrupt
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# WarningsToNotes: a warning on stderr becomes a visible stdout note, so it never costs points (errors still do).
c.Autograde.autograde_preprocessors = [
    SafeExecute,
    WarningsToNotes,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# A deleted test cell comes back from the gradebook (and runs) instead of silently costing nothing.
c.OverwriteCells.add_missing_cells = True

# nbgrader scores a test cell 0 when it wrote anything to stderr. These library messages are harmless: drop any
# stderr output that matches (a real failure is an *error* output, which this never touches).
_HARMLESS_STDERR = [
    r"Matplotlib is building the font cache",
    r"(Deprecation|Future|PendingDeprecation)Warning",
    r"UserWarning: (The given NumPy array is not writable"
    r"|To copy construct from a tensor"
    r"|TypedStorage is deprecated"
    r"|Detected call of `lr_scheduler\.step\(\)` before `optimizer\.step\(\)`"
    r"|This DataLoader will create"
    r"|Arguments other than a weight enum or `None` for 'weights' are deprecated"
    r"|The parameter 'pretrained' is deprecated)",
    r"could not save the dataset cache",
    r"\d+it/s\]|\d+s/it\]",  # tqdm progress bars
]
c.IgnorePattern.enabled = True  # nbgrader ships it switched off
c.IgnorePattern.pattern = "|".join(f"(?:{p})" for p in _HARMLESS_STDERR)

# ---------------------------------------------------------------- feedback: no hidden tests, no hidden tracebacks
c.GenerateFeedback.preprocessors = [ClearHiddenTestsAndOutputs, GetGrades, CSSHTMLHeaderPreprocessor]
