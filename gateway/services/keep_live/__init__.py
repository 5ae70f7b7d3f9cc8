"""Path 3, keep passes live: the outbox, its handlers (APNs, Google, CRM) and the web service."""
