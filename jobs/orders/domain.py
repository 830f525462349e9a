"""What an order may hold, and where the sample lives: plain Python, so tools without Spark can use it."""

from pathlib import Path

STATUSES = ("PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")
CURRENCIES = ("EUR", "GBP", "USD")
SAMPLE_PATH = Path(__file__).resolve().parent / "sample" / "orders.jsonl"
# Lines in the shipped sample (`python -m jobs.orders.sample_data` writes it; tests and the health check
# regenerate its expected counts from the same number).
SAMPLE_ROWS = 150
