"""驿站/服务点: stations kept by their officers (rosters, supplies, weekly checks), read by
workers."""
