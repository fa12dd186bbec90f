"""Keep-loaded server of python_add and python_subtract (labels process.<name>.serve).

Started once per warm container by the toolkit's runner, it answers every call of both
processes: one JSON request per line on stdin, one JSON answer per line on stdout.
"""

import add
import subtract
from _protocol import serve

serve({"python_add": add.PROCESS, "python_subtract": subtract.PROCESS})
