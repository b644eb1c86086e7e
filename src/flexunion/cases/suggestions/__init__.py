"""意见收集二维码 The anonymous per-station suggestion link."""
