"""The teaching wing: pictures and widgets, built on the package, never imported by it.

Layers, each importing only the ones above it:
- `primitives`: heatmap, curves, grid, fixed margins, fonts;
- `measure`: the numbers behind the pictures (no drawing);
- `draw`: drawing functions, data in and a Figure out (`draw_attention` for every kind);
- `figures`: the registry of the key figures saved to figures/;
- `widgets`: ipywidgets around the drawing functions.
"""
