"""Glue entrypoint of the customers job (the script Glue runs; the library zip holds the rest)."""

from jobs.common.glue_entrypoint import main
from jobs.customers.job import JOB

main(JOB)
