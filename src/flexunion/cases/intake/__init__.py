"""统一受理 Filing a demand from every channel, with where the worker works."""
