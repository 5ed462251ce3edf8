"""`python -m wizard` runs the CLI (what the `clb-wizard` script runs)."""

import sys

from wizard.cli import main

sys.exit(main())
