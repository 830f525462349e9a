import sys

from . import exit_codes
from .cli import main

try:
    sys.exit(main())
except KeyboardInterrupt:  # Ctrl-C outside a guarded phase (rollback, status): one line, each alias moved or not
    print("interrupted", file=sys.stderr)
    sys.exit(exit_codes.INTERRUPTED)
