"""Accounts: API tokens (hashed, expiring, revocable), login throttling, session timeouts, password reset."""
