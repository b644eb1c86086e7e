"""调解与法律援助衔接: a region's providers, and a case referred to one where the worker
works."""
