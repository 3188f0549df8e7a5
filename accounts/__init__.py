"""Staff accounts: lockout, two-factor authentication, session limits (issue 7)."""
