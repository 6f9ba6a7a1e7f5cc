"""Data pooling: departments load their registers into the store through contracts.

- :mod:`~analytics.pooling.contracts`: one YAML contract per department dataset
  (``data/contracts/``): columns, types, units, keys, load mode, access class.
- :mod:`~analytics.pooling.ingest`: read a file in any supported format, map its headers,
  clean and check every value, and load it atomically as a new version with lineage.

>>> from analytics.pooling import contract
>>> contract("civil_affairs_care_homes").department_en
'Civil Affairs Bureau'
"""

from analytics.pooling import contracts, ingest
from analytics.pooling.contracts import Contract, ContractError, contract
from analytics.pooling.ingest import IngestError, IngestRejected, Report, load, validate

__all__ = ["Contract", "ContractError", "IngestError", "IngestRejected", "Report", "contract",
           "contracts", "ingest", "load", "validate"]
