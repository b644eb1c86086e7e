"""A worker's consents (个人信息保护法): recorded, never overwritten, and the in-transaction
hooks a withdrawal triggers in other domains."""
