"""Entry point of the bootstrap project (`cd bootstrap && pulumi up`); the program is bootstrap/program.py."""

import sys
from pathlib import Path

# Pulumi runs this file from bootstrap/: the program is a package of the repository and reuses its components.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bootstrap.program import main  # noqa: E402

main()
