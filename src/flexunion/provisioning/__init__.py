"""Federations as files (tenants/): read, check, plan and apply, like `kubectl apply`.

The one place that writes a whole federation at once: tenants and partners through
federation's service, areas and 驿站 through geo's, card keys through auth's."""
