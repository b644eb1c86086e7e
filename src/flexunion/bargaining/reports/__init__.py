"""问题提报 Workers' reports, their representatives (骑手/司机代表) and proposals."""
