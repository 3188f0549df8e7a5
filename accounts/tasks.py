from celery import shared_task

from accounts import sessions


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Expired sessions, their mappings and login failures past the cool-off go (idempotent)."""
    sessions.clear_expired_sessions()
