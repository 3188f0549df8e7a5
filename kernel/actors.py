"""Who acts: the type every service takes as `actor` and every selector as `user`.

A signed-in staff member, as Django's own user model (crm/settings.py sets no
AUTH_USER_MODEL): views hand over `request.user` behind their login requirement, jobs the user
who started them. Services that also run for the system (the scheduler, recovery, a worker
finishing a job nobody started) take `Actor | None`, and the audit trail records None as the
system (privacy/audit/recording.py). Django's auth models are no domain app, so the kernel may
name them (pyproject.toml, contract "machinery").
"""

from typing import TypeAlias

from django.contrib.auth.models import User

Actor: TypeAlias = User
