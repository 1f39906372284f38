"""`tesla-offpeak`: the owner's command line, a client that speaks HTTP to the local or the deployed worker."""
