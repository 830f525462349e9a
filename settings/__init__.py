"""The stacks' settings, typed and validated once, at the edge: what the components, the bootstrap, the automation
and the job scaffold import (downward; never the other way), and importable without the Pulumi SDK.

- schema.py: every stack key (`STACK_FIELDS`: rule, default, field) and the settings dataclasses;
- parse.py: `parse_settings`, a stack's raw config -> `StackSettings`, or a `ConfigError` naming every problem
  (`parse_stack_config`: the same from namespaced config, as a stack file or the engine holds it);
- validation.py: the validation kit (`Field`, `read_fields`, `closest`, ...) the bootstrap's settings reuse;
- regions.py: `aws:region` against the regions AWS has;
- job_catalogue.py: the stack's `glueJobs` against the folders under jobs/;
- naming.py: every physical name a stack gives AWS; physical_names.py: those names against AWS's limits;
- delivery.py: what the bootstrap and the automation agree on (PR stack names, the longest session).

The layers (bottom to top: jobs/common, schedules.py, stack_files.py and the policy pack; settings; components and
jobs/scaffold; bootstrap and harness; automation) are a contract in pyproject.toml, which tests/test_layers.py runs.
"""
