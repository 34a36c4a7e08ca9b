"""Tables, plots and markdown rendering of run and grid directories."""
