"""服务目录 The service catalogue: HQ keeps it, regions extend it."""
