"""Referral providers' API clients (调解组织 / 法律援助站): OAuth2 client credentials."""
