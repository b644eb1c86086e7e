"""回访复核, 满意度 and 重启: closing the loop."""
