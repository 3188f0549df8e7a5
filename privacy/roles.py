"""The roles of README.md (Roles) as Django groups of permissions.

Code checks permissions, never role names: the groups only bundle permissions so that
administrators can give a person a role in Django admin. `ensure_roles` runs after every
`migrate` and makes the groups match this table exactly (idempotent).
"""

import contextlib

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from privacy.signals import permissions_unaudited

ADMINISTRATOR = "Administrator"
SALES = "Sales"
SERVICE = "Service"
ANALYST = "Analyst"
PRIVACY_OFFICER = "Privacy officer"
# Not a person's role: the service account of each shop connector (connectors/services.py).
SHOP_CONNECTOR = "Shop connector"

ROLE_LABELS = {
    ADMINISTRATOR: _("Administrator"),
    SALES: _("Sales"),
    SERVICE: _("Service"),
    ANALYST: _("Analyst"),
    PRIVACY_OFFICER: _("Privacy officer"),
    SHOP_CONNECTOR: _("Shop connector"),
}

_VIEW_RECORDS = [
    "customers.view_customer",
    "customers.view_contact",
    "customers.view_tag",
    "interactions.view_product",
    "interactions.view_transaction",
    "interactions.view_interaction",
    "interactions.view_archivedinteraction",
    "interactions.view_followup",
    # One's own notifications (the bell).
    "notifications.view_notification",
]
_BUILD_SEGMENTS = [
    "analytics.view_segment",
    "analytics.add_segment",
    "analytics.change_segment",
    "analytics.delete_segment",
    "analytics.view_dashboards",
    "analytics.refresh_metrics",
]
_WORK_ON_CUSTOMERS = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_contact",
    "customers.change_contact",
    "customers.delete_contact",
    "interactions.add_transaction",
    "interactions.add_interaction",
    "interactions.add_followup",
    "interactions.change_followup",
    # Record a consent given or withdrawn, with its evidence (the consent ledger).
    "privacy.add_consentrecord",
]

# Deals and their pipelines (sales/deals/): winning one may record its purchase, which
# interactions.add_transaction (above) allows.
_WORK_ON_DEALS = [
    "sales.view_deal",
    "sales.add_deal",
    "sales.change_deal",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMINISTRATOR: [
        *_VIEW_RECORDS,
        *_WORK_ON_CUSTOMERS,
        "customers.view_all_customers",
        "customers.view_personal_data",
        "customers.reveal_national_id",
        "customers.import_customers",
        "customers.export_customers",
        "customers.export_personal_data",
        "customers.merge_customers",
        "customers.add_tag",
        "customers.change_tag",
        "customers.delete_tag",
        "customers.view_externalid",
        "customers.add_externalid",
        "customers.delete_externalid",
        "interactions.add_product",
        "interactions.change_product",
        # The nightly archive runs (Django admin): when, up to which date, how many rows.
        "interactions.view_archiverun",
        "privacy.view_auditevent",
        "privacy.view_securityalert",
        "privacy.change_securityalert",
        "privacy.view_consentrecord",
        "privacy.view_privacypolicy",
        "privacy.view_datasubjectrequest",
        "privacy.view_retentionpolicy",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        # Help colleagues locked out (lift a lockout) or without their phone (remove their
        # authenticator); both audited, neither lets them act as the colleague.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "otp_totp.view_totpdevice",
        "otp_totp.delete_totpdevice",
        # The API keys page (/accounts/api-keys/): keys for other systems, bound to service
        # accounts in a role; accounts/privileges.py limits the roles a key may get.
        "accounts.manage_api_keys",
        # The status page (/operations/): backups, restore drills, jobs, disk; and starting a
        # backup or a drill from it.
        "operations.view_operations",
        "operations.run_backup",
        "operations.view_backuprun",
        "operations.view_restoredrill",
        # Outbound webhooks (/webhooks/): subscriptions, secrets, the delivery log, replays.
        "webhooks.manage_webhooks",
        # Public web forms (/forms/): their settings, embed code and submissions' log.
        "webforms.manage_forms",
        # Inbound connectors: POS drop folders (/drop-folders/) and mailboxes (/mailboxes/).
        "dropfolders.manage_drop_folders",
        "mailboxes.manage_mailboxes",
        # Shop connectors (/connectors/): shops' addresses and secrets, their deliveries,
        # retries and backfills.
        "connectors.manage_connectors",
        *_BUILD_SEGMENTS,
        *_WORK_ON_DEALS,
        "sales.view_all_deals",
        "sales.export_deals",
        # Custom fields (/custom-fields/): their definitions, choices, archive.
        "customers.manage_custom_fields",
        # The pipelines page (/deals/pipelines/): pipelines, their stages and probabilities.
        "sales.manage_pipelines",
        # The shared pool (/pool/): its rules, claiming, releasing anyone's customers.
        "sales.claim_from_pool",
        "sales.manage_pool",
    ],
    SALES: [
        *_VIEW_RECORDS,
        *_WORK_ON_CUSTOMERS,
        # Scope (own + unassigned customers, and a team's manager their members' too:
        # accounts/teams.py) comes from lacking view_all_customers.
        "customers.view_personal_data",
        "customers.import_customers",
        "analytics.view_segment",
        # Scope (own + team's deals) comes from lacking view_all_deals.
        *_WORK_ON_DEALS,
        # Take customers from the shared pool (/pool/), up to the pool's quota.
        "sales.claim_from_pool",
    ],
    SERVICE: [
        *_VIEW_RECORDS,
        *_WORK_ON_CUSTOMERS,
        "customers.view_all_customers",
        "customers.view_personal_data",
        "customers.merge_customers",
        "analytics.view_segment",
        *_WORK_ON_DEALS,
        "sales.view_all_deals",
    ],
    ANALYST: [
        *_VIEW_RECORDS,
        *_BUILD_SEGMENTS,
        "customers.view_all_customers",
        "customers.export_customers",
        "sales.view_deal",
        "sales.view_all_deals",
        "sales.export_deals",
    ],
    PRIVACY_OFFICER: [
        *_VIEW_RECORDS,
        "customers.view_all_customers",
        "customers.view_personal_data",
        "customers.reveal_national_id",
        "customers.export_customers",
        "customers.export_personal_data",
        "privacy.view_auditevent",
        "privacy.view_securityalert",
        "privacy.change_securityalert",
        "privacy.add_consentrecord",
        "privacy.view_consentrecord",
        "privacy.view_privacypolicy",
        "privacy.add_privacypolicy",
        "privacy.change_privacypolicy",
        # Data-subject requests: log, verify, answer (copy, correct, withdraw, restrict, erase).
        "privacy.view_datasubjectrequest",
        "privacy.add_datasubjectrequest",
        "privacy.change_datasubjectrequest",
        "privacy.view_retentionpolicy",
        "privacy.change_retentionpolicy",
        "privacy.view_retentionrun",
        "analytics.view_segment",
    ],
    # What a shop's deliveries write, as the import would: customers matched among all (by
    # the shop's id, phone or email) and their orders; and the privacy requests the shop
    # passes on, for the privacy officer to handle.
    SHOP_CONNECTOR: [
        "customers.view_customer",
        "customers.view_all_customers",
        "customers.view_personal_data",
        "customers.import_customers",
        "interactions.view_transaction",
        "privacy.add_datasubjectrequest",
    ],
}


def _permissions(names: list[str]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query))
    if len(found) != len(set(names)):
        have = {f"{p.content_type.app_label}.{p.codename}" for p in found}
        raise LookupError(f"Unknown permissions in ROLE_PERMISSIONS: {sorted(set(names) - have)}")
    return found


def ensure_roles() -> dict[str, Group]:
    """Create the role groups and set their permissions to exactly ROLE_PERMISSIONS."""
    # post_migrate reaches apps one at a time; make sure every app's permissions exist first.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    groups = {}
    for role, names in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role)
        # Changes to an existing group are audited (through privacy.signals); filling a new one
        # is not a change of anyone's permissions.
        with permissions_unaudited() if created else contextlib.nullcontext():
            group.permissions.set(_permissions(names))
        groups[role] = group
    return groups
