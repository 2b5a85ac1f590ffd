"""City mode (两级监督、两级指挥): district centers, case levels, level rules."""
