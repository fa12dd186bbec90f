"""``python -m containerdag_widgets.cli``: the ``containerdag`` command."""

import sys

from .main import main

sys.exit(main())
