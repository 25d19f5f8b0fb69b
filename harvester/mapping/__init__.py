"""Hub items to catalog rows and back: pure functions, no I/O (a rejected item is logged).

    values   one field of an untrusted item, typed and checked (`RejectedItem`)
    links    the graph's edges an item states
    fields   what the field groups add: typed columns and child rows
    items    listing items to rows (`map_item`) and rows back to items (`rebuilt_item`, `item_patch`)
    details  the details lane's repo pages and the counter lane's counters
"""

from .details import COUNTER_FIELDS, Counters, RepoDetails, map_counters, map_details
from .fields import Facets, item_facets
from .items import (
    REBUILT_FIELDS,
    Listed,
    MappedRow,
    item_patch,
    listed,
    map_each,
    map_item,
    map_model,
    map_page,
    rebuilt_item,
)
from .links import RELATIONS, Link, item_links
from .values import INT64, RejectedItem, hub_time, item_hash, parse_hub_time

__all__ = [
    "COUNTER_FIELDS", "INT64", "REBUILT_FIELDS", "RELATIONS", "Counters", "Facets", "Link", "Listed", "MappedRow",
    "RejectedItem", "RepoDetails", "hub_time", "item_facets", "item_hash", "item_links", "item_patch", "listed",
    "map_counters", "map_details", "map_each", "map_item", "map_model", "map_page", "parse_hub_time",
    "rebuilt_item",
]
