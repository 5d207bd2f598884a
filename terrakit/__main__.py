"""``python -m terrakit``: the same as the ``terrakit`` command."""

import sys

from terrakit.cli import main

sys.exit(main())
