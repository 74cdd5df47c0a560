"""``python -m aima.eval``: see :mod:`aima.eval.cli`."""

import sys

from aima.eval.cli import main

sys.exit(main())
