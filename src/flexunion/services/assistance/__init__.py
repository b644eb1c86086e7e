"""帮扶台账: hardship cases on their own track, grants against budget lines, sealed details."""
