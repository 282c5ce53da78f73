"""Phone-wallet payments: the gateway port (:mod:`.gateway`), its dialects and the method."""
