"""`python policies/check_config.py --stack STACK FILE`: refuse a policy pack config that names an unknown policy
or lowers a mandatory one on a protected stack (guardrails/pack_config.py); the workflows run it before a preview
with the venv of the pack."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guardrails.pack_config import main  # noqa: E402

sys.exit(main())
