"""nbgrader for a student's server on the hub: which course, and where the exchange is (set by the hub's spawner)."""

import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)
c.CourseDirectory.course_id = os.environ["NBGRADER_COURSE_ID"]
c.Exchange.root = os.environ["NBGRADER_EXCHANGE_ROOT"]
