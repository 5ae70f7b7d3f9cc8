"""Console pages: the program dashboard (reports and KPIs)."""
