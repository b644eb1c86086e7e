"""收件箱: the worker's in-app inbox of status changes on their own cases."""
