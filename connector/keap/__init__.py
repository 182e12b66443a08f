"""The Keap (formerly Infusionsoft) connector: REST client, OAuth endpoints and errors."""
