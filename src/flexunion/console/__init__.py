"""工作台: the officers' web console — server-rendered pages over the same services and the
same RLS scope as the API (docs/console.md)."""
