"""Staff credentials and the sealed staff PIN: who may sign in at the lane."""
