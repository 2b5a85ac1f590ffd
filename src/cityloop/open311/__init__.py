"""Open311 GeoReport v2 adapter: translates the standard API to cases and channels (owns no tables)."""
