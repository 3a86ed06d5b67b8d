"""Entry point for ``python -m editorial``."""

import sys

from editorial.cli import main

sys.exit(main())
