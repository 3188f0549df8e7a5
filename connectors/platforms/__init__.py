"""The platforms a connector may be for, by Connector.platform; another kind of source is one
more adapter here (connectors/platforms/base.py). `adapter_of` gives the adapter that reads a
connector's deliveries: the platform's, bound to the connector's settings where it has any
(a generic webhook's mapping)."""

from connectors.models import Connector
from connectors.platforms.base import PlatformAdapter
from connectors.platforms.generic import GenericWebhook
from connectors.platforms.shopify import Shopify
from connectors.platforms.woocommerce import WooCommerce

ADAPTERS: dict[str, PlatformAdapter] = {
    adapter.key: adapter for adapter in (Shopify(), WooCommerce(), GenericWebhook())
}


def adapter_for(platform: str) -> PlatformAdapter:
    return ADAPTERS[platform]


def adapter_of(connector: Connector) -> PlatformAdapter:
    return adapter_for(connector.platform).bound_to(connector)
