"""planflow's tests.

The suite runs in an OS time zone that is neither UTC nor the department's, and has daylight
saving: America/Los_Angeles (`PLANFLOW_TEST_OS_TZ` names another). What planflow does must never
depend on the server's own zone (SpiffWorkflow, for one, reads a timer's time without an offset
in it), and code that leans on it fails here rather than only on a server that is not in UTC.
Set before anything is imported (SpiffWorkflow fixes the zone it reads when first imported);
the servers, workers and CLI runs the tests start inherit it.
"""

import os
import time

os.environ["TZ"] = os.environ.get("PLANFLOW_TEST_OS_TZ", "America/Los_Angeles")
time.tzset()
