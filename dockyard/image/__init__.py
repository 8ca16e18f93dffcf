"""Looking inside images: `inv size`, `inv history` and `inv inspect-layers`.

Reading and counting, pure stdlib and never the engine: `archive` streams a `docker save`
archive, `layout` finds its image and layer order, `overlay` replays the layers, `analysis`
counts sizes and waste, `instruction` cleans history lines. Asking the engine and judging:
`targets`, `base`, `size`, `history`, `gate` and `inspection` return plain dataclasses that
`dockyard.render.image` draws and whose `to_dict()` is `--json`. The rules: the README's
"Looking inside the images".
"""
