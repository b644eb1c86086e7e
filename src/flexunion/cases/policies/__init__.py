"""政策库 The HQ's policy library, and the hotline platforms allowed to push work orders."""
