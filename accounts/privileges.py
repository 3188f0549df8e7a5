"""What someone who manages accounts may give and change, when they are not a superuser: no
more than they hold themselves (issue 17).

The Administrator role holds `auth.add_user` and `auth.change_user`; with Django admin's plain
forms that would let it make anyone — itself included — a superuser, give any permission, or
take over an account worth more than its own by changing its e-mail or password. These rules
close that: a non-superuser grants only permissions they hold and groups made of them, and
changes only accounts that hold nothing they lack (never a superuser). Superusers keep every
power. Django admin (accounts/admin.py) applies them to its forms, views and bulk actions.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet


def _held(user: AbstractBaseUser) -> QuerySet[Permission]:
    # Read from the tables rather than through user.get_all_permissions(), which answers
    # nothing for an inactive account: one that someone could activate again.
    return Permission.objects.filter(Q(user=user) | Q(group__user=user))


def grantable_permissions(editor: AbstractBaseUser) -> QuerySet[Permission]:
    """The permissions `editor` may give a user or a group: all for a superuser, else those
    they hold directly or through a group."""
    if editor.is_superuser:
        return Permission.objects.all()
    return Permission.objects.filter(pk__in=_held(editor).values("pk"))


def grantable_groups(editor: AbstractBaseUser) -> QuerySet[Group]:
    """The groups `editor` may give someone: those with no permission outside
    grantable_permissions(editor)."""
    if editor.is_superuser:
        return Group.objects.all()
    return Group.objects.exclude(
        permissions__in=Permission.objects.exclude(pk__in=_held(editor).values("pk"))
    )


def may_change_group(editor: AbstractBaseUser, group: Group) -> bool:
    """Whether `editor` may change or delete `group`: a non-superuser only one whose every
    permission they hold (else removing one, or taking it apart, would touch what they could
    not give)."""
    return grantable_groups(editor).filter(pk=group.pk).exists()


def may_change_account(editor: AbstractBaseUser, account: AbstractBaseUser) -> bool:
    """Whether `editor` may change or delete `account`. A non-superuser never touches a
    superuser, nor an account holding a permission they lack: setting its e-mail or password
    would let them act as it, with more than their own rights."""
    if editor.is_superuser:
        return True
    if account.is_superuser:
        return False
    return not _held(account).exclude(pk__in=_held(editor).values("pk")).exists()


def may_remove_authenticator(editor: AbstractBaseUser, account: AbstractBaseUser) -> bool:
    """Whether `editor` may remove `account`'s authenticators (a lost phone): a colleague's,
    yes (their password still guards the account, and a non-superuser cannot change that of
    anyone holding more than they do); a superuser's, only another superuser."""
    return editor.is_superuser or not account.is_superuser
