"""Field mappings: analyst-owned files that turn one system's record into another's.

A mapping lives in ``processes/mappings/`` as YAML (``.yaml``, ``.yml``) or TOML (``.toml``)::

    name: crm_order_to_erp          # optional; the file name without its suffix otherwise
    description: CRM order → ERP sales order parameters
    enums:                          # named tables: source value → target value
      country: {Germany: DE, DE: DE, Norway: NO, NO: NO}
    fields:                         # one entry per target field
      - to: crm_order_id            # where the value goes: a dotted path
        from: id                    # where it comes from: a dotted path in the record
        required: true
      - to: lines[].quantity        # [] maps every element of a list to a new list
        from: items[].quantity
        type: integer
        min: 1
        required: true
      - to: lines[].unit_price
        from: items[].unit_price
        type: decimal
        places: 2
      - to: country_code
        from: account.country
        type: enum
        table: country
        default: DE                 # used when the value is missing, null or blank
      - to: channel
        value: crm                  # a constant instead of ``from``

A field entry has ``to``, exactly one of ``from`` / ``value``, and optionally ``type``
(default ``string``), ``required`` (default false), ``default`` and ``description``.
``default`` and ``value`` are written as the source would hold them and converted like it.
A missing optional field is left out of the result. Types and their options:

- ``string``: ``max_length``, ``pattern`` (a regular expression the whole text must match);
- ``integer``: ``min``, ``max``, ``factor`` (a unit conversion: the value is multiplied by it);
- ``decimal``: ``places`` (rounded half up), ``min``, ``max``, ``factor``;
- ``boolean``: true/false, yes/no, 1/0, on/off;
- ``date``, ``datetime``: ISO 8601 text, or ``format`` (a ``strptime`` format); aware
  date-times are converted to UTC;
- ``enum``: ``table`` (a name from ``enums`` or an inline table), ``case_sensitive``
  (default false); a value that is not in the table fails;
- ``any``: copied unchanged.

YAML is read in a strict, YAML-1.2-like way: only ``true``/``false`` are booleans (so
``NO``, Norway, stays text), numbers with a leading zero and dates stay text, decimals are
read exactly, and a key written twice is an error. ``load_mapping`` reports every problem of
a file at once; ``Mapping.apply`` reports every field that failed at once.
"""

from .checks import COMMON_KEYS, TOP_KEYS
from .convert import CONVERTERS, TYPE_OPTIONS, EnumTable, json_ready
from .errors import MappingFileError, MappingProblem
from .loading import SUFFIXES, MappingSet, load_mapping
from .mapping_operations import Operation, operations
from .model import FieldRule, Mapping

__all__ = ["COMMON_KEYS", "CONVERTERS", "SUFFIXES", "TOP_KEYS", "TYPE_OPTIONS", "EnumTable",
           "FieldRule", "Mapping", "MappingFileError", "MappingProblem", "MappingSet",
           "Operation", "json_ready", "load_mapping", "operations"]
