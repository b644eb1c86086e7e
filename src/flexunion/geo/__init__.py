"""Geofenced service areas, stations (驿站), check-ins and the coverage census (摸清人员底数)."""
