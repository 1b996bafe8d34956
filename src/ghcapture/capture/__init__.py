"""What to fetch from GitHub and how it becomes rows: the code both lanes run."""
