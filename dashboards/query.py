"""A typed query for the ``grafana-clickhouse-datasource`` plugin (the SDK has no builder for it).

The plugin's SQL-editor query is ``{"datasource", "editorType": "sql", "rawSql", "format",
"queryType", "refId"}``; ``format`` is the backend's frame format (``0`` time series, ``1``
table) and ``queryType`` the editor's display mode. The class implements the SDK's
``Dataquery`` variant and a builder, so panels take it with ``with_target`` like any SDK query.
"""

from __future__ import annotations

import enum
from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = [
    "DATASOURCE",
    "DATASOURCE_TYPE",
    "DATASOURCE_UID",
    "ClickHouseQuery",
    "ClickHouseQueryBuilder",
    "QueryFormat",
]

DATASOURCE_TYPE = "grafana-clickhouse-datasource"
DATASOURCE_UID = "civicpulse-clickhouse"
DATASOURCE = DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


class QueryFormat(enum.IntEnum):
    """The plugin backend's frame formats (sqlutil.FormatQueryOption)."""

    TIME_SERIES = 0
    TABLE = 1


_QUERY_TYPES = {QueryFormat.TIME_SERIES: "timeseries", QueryFormat.TABLE: "table"}


class ClickHouseQuery(cogvariants.Dataquery):
    """One SQL query of a panel or a query variable, for the ClickHouse data source."""

    def __init__(
        self,
        raw_sql: str = "",
        *,
        format_val: QueryFormat = QueryFormat.TABLE,
        ref_id: str = "A",
        datasource: DataSourceRef = DATASOURCE,
    ) -> None:
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.ref_id = ref_id
        self.datasource = datasource

    @property
    def query_type(self) -> str:
        return _QUERY_TYPES[self.format_val]

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": self.datasource,
            "editorType": "sql",
            "format": int(self.format_val),
            "queryType": self.query_type,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ref = data.get("datasource") or {}
        return cls(
            data.get("rawSql", ""),
            format_val=QueryFormat(int(data.get("format", QueryFormat.TABLE))),
            ref_id=data.get("refId", "A"),
            datasource=DataSourceRef(type_val=ref.get("type"), uid=ref.get("uid")),
        )


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    """Builder in the SDK's style: ``ClickHouseQueryBuilder().raw_sql(sql).format(...)``."""

    def __init__(self) -> None:
        self._internal = ClickHouseQuery()

    def build(self) -> ClickHouseQuery:
        return self._internal

    def raw_sql(self, raw_sql: str) -> Self:
        self._internal.raw_sql = raw_sql
        return self

    def format(self, format_val: QueryFormat) -> Self:
        self._internal.format_val = format_val
        return self

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self
