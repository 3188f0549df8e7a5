from celery import shared_task
from django.utils import translation

from privacy.audit.recording import audit_context
from privacy.models import AuditChannel
from privacy.subjects.services import delete_expired_copies, prepare_copy


@shared_task(name="privacy.subjects.prepare_copy")
def prepare_subject_copy(request_id: int, language: str) -> None:
    with audit_context(via=AuditChannel.TASK), translation.override(language):
        prepare_copy(request_id)


@shared_task(name="privacy.subjects.delete_expired_copies")
def delete_expired_copies_task() -> int:
    return delete_expired_copies()
