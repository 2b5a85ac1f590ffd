"""数据交换/数据汇聚: a county platform reports upward to a city platform; the city assigns cases down (上级交办)."""
