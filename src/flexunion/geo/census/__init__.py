"""Partner rosters (花名册) in, the coverage census (摸清人员底数) out."""
