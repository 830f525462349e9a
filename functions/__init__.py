"""Lambda handlers of the pipeline, one folder each, plus `shared` (packaged into every function's zip)."""
