"""Visualisers: sscl uses mmengine's ``Visualizer`` and backends through its registries."""
