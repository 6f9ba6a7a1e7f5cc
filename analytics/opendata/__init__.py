"""The open-data portal: what is published, to whom, and in what form.

- :mod:`~analytics.opendata.registry`: every dataset the city publishes (department, domain,
  access class, negative list, columns) and its catalog row.
- :mod:`~analytics.opendata.catalog`: search, facets and metadata quality over the catalog.
- :mod:`~analytics.opendata.access`: the one access decision every output goes through.
- :mod:`~analytics.opendata.applications`: applications for on-application datasets.
- :mod:`~analytics.opendata.accounts`: staff accounts, sign-in and sessions.
- :mod:`~analytics.opendata.privacy`: disclosure control (suppression, masking, k-anonymity).
- :mod:`~analytics.opendata.exports`: bulk downloads in machine-readable formats.
- :mod:`~analytics.opendata.tokens`: API tokens (hashed, expiring) that act for an account.

>>> from analytics.opendata import ACCESS_LEVELS, spec
>>> ACCESS_LEVELS
('public', 'on_application', 'confidential')
>>> spec("care_subsidy_registry").access
'confidential'
"""

from analytics.opendata import (
    access,
    accounts,
    applications,
    catalog,
    exports,
    privacy,
    registry,
    tokens,
)
from analytics.opendata.access import AccessRefused, Decision, authorize, decide, decide_many
from analytics.opendata.registry import (
    ACCESS_LEVELS,
    DATASETS,
    DEPARTMENTS,
    DOMAINS,
    DatasetSpec,
    spec,
    spec_of,
)

__all__ = ["ACCESS_LEVELS", "AccessRefused", "DATASETS", "DEPARTMENTS", "DOMAINS",
           "DatasetSpec", "Decision", "access", "accounts", "applications", "authorize",
           "catalog", "decide", "decide_many", "exports", "privacy", "registry", "spec", "spec_of",
           "tokens"]
