"""The platforms a connector may be for, by Connector.platform; another kind of source is one
more adapter here (connectors/platforms/base.py)."""

from connectors.platforms.base import PlatformAdapter
from connectors.platforms.shopify import Shopify
from connectors.platforms.woocommerce import WooCommerce

ADAPTERS: dict[str, PlatformAdapter] = {
    adapter.key: adapter for adapter in (Shopify(), WooCommerce())
}


def adapter_for(platform: str) -> PlatformAdapter:
    return ADAPTERS[platform]
