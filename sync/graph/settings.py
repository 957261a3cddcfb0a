"""What the Graph sync reads from the configuration (names in docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GRAPH_SCOPE = "https://graph.microsoft.com/.default"  # app-only: the consented permissions
MAX_PAGE_SIZE = 1000  # Graph serves at most 1,000 messages per delta page


@dataclass(frozen=True)
class GraphSettings:
    graph_url: str  # ends with the API version: https://graph.microsoft.com/v1.0
    authority: str  # identity platform base: https://login.microsoftonline.com
    tenant_id: str  # may be empty: the tenant stored by ``python app.py graph-tenant``
    client_id: str
    ca_file: str | None
    page_size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraphSettings:
        try:
            page_size = int(config.get("RAPPORT_GRAPH_PAGE_SIZE") or MAX_PAGE_SIZE)
        except ValueError as error:
            raise ValueError("RAPPORT_GRAPH_PAGE_SIZE must be a whole number") from error
        return cls(
            graph_url=str(config.get("RAPPORT_GRAPH_URL") or "https://graph.microsoft.com/v1.0")
            .strip()
            .rstrip("/"),
            authority=str(config.get("RAPPORT_AUTHORITY") or "https://login.microsoftonline.com")
            .strip()
            .rstrip("/"),
            tenant_id=str(config.get("RAPPORT_GRAPH_TENANT") or "").strip(),
            client_id=str(config.get("RAPPORT_GRAPH_CLIENT_ID") or "").strip(),
            ca_file=str(config.get("RAPPORT_GRAPH_CA_FILE") or "").strip() or None,
            page_size=max(1, min(page_size, MAX_PAGE_SIZE)),
        )

    @property
    def protocol_url(self) -> str:
        """The base O365's protocol wants: ``https://graph.microsoft.com/``."""
        return self.graph_url.rpartition("/")[0] + "/"

    @property
    def api_version(self) -> str:
        return self.graph_url.rpartition("/")[2]
