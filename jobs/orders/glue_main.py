"""Glue entrypoint of the orders job (the script Glue runs; the library zip holds the rest)."""

from jobs.common.glue_entrypoint import main
from jobs.orders.job import JOB

main(JOB)
