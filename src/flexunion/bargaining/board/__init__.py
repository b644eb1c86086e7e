"""协商清单 The agenda board: items and their lifecycle, topics, supports, answers."""
