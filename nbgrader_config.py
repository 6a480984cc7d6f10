"""nbgrader configuration for the course (instructor side). Run nbgrader commands from the repo root."""

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

c.CourseDirectory.course_id = "finetune-vision-metrics"
c.CourseDirectory.root = "."
# The lessons' nbgrader *source* assignments live in notebooks/<id>/<id>.ipynb.
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Data files next to a lesson are never shipped unless listed; lessons import course_lib instead.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
