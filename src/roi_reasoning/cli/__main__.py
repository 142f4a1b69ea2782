"""``python -m roi_reasoning.cli``: the ``roi`` command."""

import sys

from roi_reasoning.cli import main

sys.exit(main())
