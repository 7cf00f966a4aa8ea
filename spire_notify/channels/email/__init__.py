"""Email: the templated email backend, the address each row was written for, digests, the email
previews, and the List-Unsubscribe headers."""
