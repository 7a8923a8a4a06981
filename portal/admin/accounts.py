"""Back-office views: accounts."""
