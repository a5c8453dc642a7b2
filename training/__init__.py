"""Training-side tools: click simulation, dataset readers and synthetic lesion generation."""
