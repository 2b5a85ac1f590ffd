"""Places (地理编码 data): roads as lines with house-number ranges, door-plate addresses, POIs, communities and
towns; the geocoder and reverse geocoder over them."""
