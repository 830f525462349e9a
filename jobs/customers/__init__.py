"""Customers: raw JSON lines of customer profiles -> the latest profile per customer as Parquet partitioned by
signup date, bad records quarantined."""
