"""服务申请 A worker's application to a service and the window's review."""
