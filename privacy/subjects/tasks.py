from celery import shared_task

from privacy.subjects.services import delete_expired_copies


@shared_task(name="privacy.subjects.delete_expired_copies")
def delete_expired_copies_task() -> int:
    return delete_expired_copies()
