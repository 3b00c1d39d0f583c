"""`python -m bankwh`: the same as the `bankwh` command."""

import sys

from bankwh.cli import main

sys.exit(main())
