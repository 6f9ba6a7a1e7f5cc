"""City data brain: the UI-free domain library.

The dashboard, the CLI (``python -m analytics``) and the analysts' notebooks all use this
package; it never imports Streamlit.
"""

from analytics.errors import CityBrainError
from analytics.store import Store, StoreError

__all__ = ["CityBrainError", "Store", "StoreError"]
