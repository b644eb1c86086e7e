"""办理环节 The steps: route, assign, accept, return, reassign, answer, merge, feedback."""
