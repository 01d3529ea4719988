"""``python -m remission``: the same command line as the ``remission`` script.

For environments where the console script is not on ``PATH`` (a virtual environment
not activated, a notebook's ``!python -m remission report my-study``).
"""

import sys

from remission.cli import main

if __name__ == "__main__":
    sys.exit(main())
