"""nbgrader for the instructor's server on the hub (the course directory's own nbgrader_config.py adds the rest).

The exchange is the hub's; ``collect`` only takes submissions whose files all belong to the student they name
(nbgrader's default collect merely warns about a forged one, see ``course_exchange.py``).
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)
c.CourseDirectory.course_id = os.environ["NBGRADER_COURSE_ID"]
c.Exchange.root = os.environ["NBGRADER_EXCHANGE_ROOT"]

_here = os.path.dirname(os.path.abspath(__file__))  # noqa: F821 (traitlets defines __file__ for config files)
if _here not in sys.path:
    sys.path.insert(0, _here)
c.ExchangeFactory.collect = "course_exchange.OwnerCheckedCollect"

