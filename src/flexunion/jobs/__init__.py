"""作业队列 The job queue: pgqueuer on the same PostgreSQL (docs/jobs.md).

registry.py   every entrypoint a worker runs, by name (`@register`)
tasks.py      the entrypoints: each calls a domain's service (transfers, ballots, retention)
schedule.py   the periodic schedules, declared once (name, cron, entrypoint)
repository.py the queue's SQL (pgqueuer's queries over the session's own connection)
service.py    enqueue in the caller's transaction; run a job in its federation's scope
worker.py     the pgqueuer worker (`flexunion worker`, or beside `flexunion serve`)"""
