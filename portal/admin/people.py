"""Back-office views: people."""
