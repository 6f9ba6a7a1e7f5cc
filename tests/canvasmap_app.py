"""A page with one canvas map and nothing else, for the browser test of the component
(``tests/test_canvasmap.py``): three hexagons around a point, one facility with a hostile
name, a path; the page writes back what a click chose."""

import json

import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard import maps
from dashboard.components import canvasmap

CENTRE = "891f1d48177ffff"
HOSTILE = '<img src=x onerror="window.__pwned=1"> **bold** [x](http://example.com)'

cells = pd.DataFrame({"h3": [CENTRE], "c": [[200, 0, 0, 255]],
                      "t": [HOSTILE], "d": ["second line"], "u": [""]})
ring = maps.hex_layer(cells)
lat, lon = __import__("h3").cell_to_latlng(CENTRE)
far = pd.DataFrame({"facility_id": ["F1"], "lon": [lon + 0.01], "lat": [lat],
                    "r": [60.0], "t": ["</div><script>window.__pwned=2</script>"],
                    "d": ["Capacity 10"], "u": ["line three"]})
layers = [ring, maps.facility_layer(far)]
view = pdk.ViewState(longitude=lon, latitude=lat, zoom=14)
click = canvasmap.show(canvasmap.build(layers, view, label="test map"), key="test_map",
                       height=400)
st.text("clicked: " + json.dumps(click))
