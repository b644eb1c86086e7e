"""Platform partners' API clients: OAuth2 client credentials, the client profile."""
