"""How a pipeline run starts its Glue job, shared by the validate_input function (which tells the state machine)
and the fast PR check (which starts Glue runs itself)."""

# Glue's `--job-bookmark-option` per kind of run: a health check neither reads by nor moves the job's bookmark, so
# it never hides production input from the next scheduled run.
BOOKMARK_OPTION_ARGUMENT = "--job-bookmark-option"
HEALTH_CHECK_BOOKMARKS = "job-bookmark-disable"
SCHEDULED_BOOKMARKS = "job-bookmark-enable"


def bookmark_option(health_check: bool) -> str:
    return HEALTH_CHECK_BOOKMARKS if health_check else SCHEDULED_BOOKMARKS
