"""Back-office views: settings."""
