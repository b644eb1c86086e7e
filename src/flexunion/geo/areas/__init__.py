"""Service areas (服务区域): union jurisdictions, platforms' delivery zones, stations' reach."""
