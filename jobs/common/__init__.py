"""Library shared by every Glue job: the job contract, quality checks, the runner and entrypoints."""
