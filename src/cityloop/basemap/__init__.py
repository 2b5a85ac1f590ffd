"""The base map: vector tiles of roads, water, built-up areas and place labels, served by CityLoop from a local
MBTiles file (built for the demo, or installed with `cityloop map import`), or a configured tile URL, or none."""
