"""`python -m jobs new NAME`: scaffold a job (jobs/scaffold/)."""

import sys

from jobs.scaffold import main

sys.exit(main())
