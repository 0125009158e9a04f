"""Run the ``mfa`` command as ``python -m mfa_core.cli``."""

import sys

from . import main

sys.exit(main())
