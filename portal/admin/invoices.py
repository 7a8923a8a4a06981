"""Back-office views: invoices."""
