"""Orders: raw JSON lines -> curated Parquet partitioned by order date, bad records quarantined."""
