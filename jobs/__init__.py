"""Glue jobs: one folder per job (its schema, transforms, quality rules and a thin Glue entrypoint),
plus `common`, the library shared by all of them. Shipped to Glue as a zip per job (--extra-py-files)."""
