"""周研判 the weekly risk review (issue 15): docs/weekly-review.md."""
