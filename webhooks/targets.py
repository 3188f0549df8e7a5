"""Where deliveries may go: http(s) URLs whose host does not resolve to a private, loopback,
link-local or otherwise internal address (the worker would otherwise carry requests into the
office network or to a cloud metadata service), unless WEBHOOKS_ALLOW_PRIVATE_TARGETS."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def check_target(url: str) -> None:
    """Raise ValidationError unless deliveries may be sent to `url`. Resolves the host name:
    called when a subscription is saved and again before each attempt, so a name that later
    points inside the network is refused then."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter an http:// or https:// address."))
    if parts.username or parts.password:
        raise ValidationError(_("Put no user name or password in the address."))
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as failure:
        raise ValidationError(_("The host name of this address cannot be resolved.")) from failure
    if any(_is_internal(str(info[4][0])) for info in found):
        raise ValidationError(
            _("This address is inside a private network; deliveries may only go to public hosts.")
        )
