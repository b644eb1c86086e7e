"""The collective-bargaining agenda board (协商清单): board/, reports/, rounds/, ballots/,
evidence/ (docs/bargaining.md)."""
