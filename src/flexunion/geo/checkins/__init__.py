"""Opt-in location check-ins (位置打卡) and the transfer suggestions drawn from them (接转提示)."""
