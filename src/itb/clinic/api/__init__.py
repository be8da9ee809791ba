"""The clinic's HTTP API (FastAPI): a thin shell that turns requests into service calls
and the clinic's errors into status codes with a sentence naming the field."""
