"""Path 1, issue: enrollment, CRM lookup, member and card rows, Apple and Google passes, links."""
