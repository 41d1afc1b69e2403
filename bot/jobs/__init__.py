"""Scheduled work: the daily push and the evening reminders (PTB's JobQueue calls them)."""
