"""Reports: the program dashboard's figures, computed from the ledger, the scan records, the
pass tables and the enrollments, with daily rollups for the tables that are large or purged."""
