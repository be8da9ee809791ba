"""The reminder messages as Jinja2 templates (itb.clinic.reminders renders them)."""
