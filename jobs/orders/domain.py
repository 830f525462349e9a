"""What an order may hold: plain Python, so tools without Spark (the sample generator) can use it."""

STATUSES = ("PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")
CURRENCIES = ("EUR", "GBP", "USD")
