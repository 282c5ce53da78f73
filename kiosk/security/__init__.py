"""Staff credentials and the sealed staff PIN: who may sign in at the lane; and the
certificate files the lane relies on, with when each expires (:mod:`.certificates`)."""
