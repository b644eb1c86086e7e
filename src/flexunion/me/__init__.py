"""我的: the worker's own account and membership as the app shows them, composed from auth,
membership and transfers (the layer above all three, so none of them imports another's
read views). No tables of its own."""
